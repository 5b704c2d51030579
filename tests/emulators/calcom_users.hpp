/* calcom_users.hpp: managed users (/v2/oauth-clients/{clientId}/users...),
 * token refresh (/v2/oauth/{clientId}/refresh), /v2/me, and the seeding of the
 * accounts that exist after start-up or /_emulator/reset. Reference: §1.2,
 * §1.3 and §1.6 of shared/reference/calcom-api-v2.md. */
#pragma once
#include "calcom_auth.hpp"

namespace calcom_emu {

inline const std::vector<std::string>& week_days() {
  static const std::vector<std::string> days = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                "Friday", "Saturday", "Sunday"};
  return days;
}

inline const std::vector<std::string>& locales() {
  static const std::vector<std::string> l = {
      "ar", "ca", "de", "es", "eu", "he", "id", "ja", "lv", "pl", "ro", "sr", "th", "vi", "az",
      "cs", "el", "es-419", "fi", "hr", "it", "km", "nl", "pt", "ru", "sv", "tr", "zh-CN", "bg",
      "da", "en", "et", "fr", "hu", "iw", "ko", "no", "pt-BR", "sk", "ta", "uk", "zh-TW", "bn"};
  return l;
}

inline std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

/* ------------------------------------------------------------- outputs */

/* ManagedUserOutput. */
inline Json::Value managed_user_json(const User& u) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(u.id);
  j["email"] = u.email;
  j["username"] = u.username;
  j["name"] = u.name;
  j["bio"] = u.bio;
  j["timeZone"] = u.time_zone;
  j["weekStart"] = u.week_start;
  j["createdDate"] = u.created_date;
  j["timeFormat"] = u.time_format;
  j["defaultScheduleId"] = u.default_schedule_id;
  j["locale"] = u.locale;
  j["avatarUrl"] = u.avatar_url;
  j["metadata"] = u.metadata;
  return j;
}

/* MeOutput. */
inline Json::Value me_json(const User& u) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(u.id);
  j["username"] = u.username;
  j["email"] = u.email;
  j["name"] = u.name;
  j["avatarUrl"] = u.avatar_url;
  j["bio"] = u.bio;
  j["timeFormat"] = u.time_format;
  j["defaultScheduleId"] = u.default_schedule_id;
  j["weekStart"] = u.week_start;
  j["timeZone"] = u.time_zone;
  if (u.organization_id) {
    j["organizationId"] = static_cast<Json::Int64>(u.organization_id);
    Json::Value org(Json::objectValue);
    org["isPlatform"] = true;
    org["id"] = static_cast<Json::Int64>(u.organization_id);
    j["organization"] = org;
  } else {
    j["organizationId"] = Json::Value::null;
  }
  return j;
}

/* ------------------------------------------------------- email / username */

/* local+<clientId>@domain, unless the address already has +<clientId>@.
 * The parts the caller wrote are lower-cased; the client id keeps its case. */
inline std::string managed_email(const std::string& client_id, const std::string& email) {
  const std::string marker = "+" + client_id + "@";
  size_t pos = email.find(marker);
  if (pos != std::string::npos) {
    return to_lower(email.substr(0, pos)) + marker + to_lower(email.substr(pos + marker.size()));
  }
  size_t at = email.find('@');
  std::string local = email.substr(0, at);
  std::string domain = at == std::string::npos ? "" : email.substr(at + 1);
  return to_lower(local) + marker + to_lower(domain);
}

/* Username at creation: slugify("<local+clientId>-<first domain label>"). */
inline std::string username_on_create(const std::string& stored_email) {
  size_t at = stored_email.find('@');
  std::string local = stored_email.substr(0, at);
  std::string domain = at == std::string::npos ? "" : stored_email.substr(at + 1);
  return slugify(local + "-" + split(domain, '.')[0]);
}

/* Username after a PATCH of the email, as the 2026 source re-derives it:
 * slugify("<local+clientId>-<domain label>-<second label>"). */
inline std::string username_on_email_change(const std::string& stored_email) {
  size_t at = stored_email.find('@');
  std::string local = stored_email.substr(0, at);
  std::string domain = at == std::string::npos ? "" : stored_email.substr(at + 1);
  auto labels = split(domain, '.');
  return slugify(local + "-" + labels[0] + "-" + (labels.size() > 1 ? labels[1] : "undefined"));
}

inline const User* find_user_by_email(const State& st, const std::string& email) {
  std::string want = to_lower(email);
  for (const auto& [id, u] : st.users) if (to_lower(u.email) == want) return &u;
  return nullptr;
}

/* ------------------------------------------------------------ schedules */

/* Cal.com's availability when none is given: Monday-Friday 09:00-17:00. */
inline Availability default_availability() {
  return Availability{{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}, "09:00", "17:00"};
}

/* "Default schedule": Monday-Friday 09:00-17:00 in tz, no overrides; a full
 * /v2/schedules object. Returns its id; the caller makes it the user's
 * defaultScheduleId (which is what makes it the default). */
inline int64_t create_default_schedule(State& st, int64_t owner_id, const std::string& tz) {
  Schedule s;
  s.id = st.next_schedule_id++;
  s.owner_id = owner_id;
  s.name = "Default schedule";
  s.time_zone = tz;
  s.availability.push_back(default_availability());
  st.schedules[s.id] = s;
  return s.id;
}

/* Whether the schedule is its owner's default (User::defaultScheduleId). */
inline bool schedule_is_default(const State& st, const Schedule& s) {
  auto it = st.users.find(s.owner_id);
  if (it == st.users.end() || !it->second.default_schedule_id.isIntegral()) return false;
  return it->second.default_schedule_id.asInt64() == s.id;
}

/* --------------------------------------------------------------- inputs */

/* CreateManagedUserInput / UpdateManagedUserInput after validation. A JSON
 * null counts as absent (class-validator's IsOptional); unknown properties
 * are dropped (whitelist). */
struct UserInput {
  std::optional<std::string> email, name, week_start, time_zone, locale, avatar_url, bio;
  std::optional<int> time_format;
  std::optional<Json::Value> metadata;
  std::optional<int64_t> default_schedule_id;
};

inline constexpr const char* k_metadata_message =
    "Metadata must have at most 50 keys, each key up to 40 characters, and values up to 500 "
    "characters.";

/* Validates every field and appends one class-validator error per bad field
 * to `errors`. is_create: email and name are required and defaultScheduleId
 * is not accepted. */
inline UserInput parse_user_input(const Json::Value& body, bool is_create, Json::Value& errors) {
  UserInput in;
  auto present = [&](const char* k) { return body.isMember(k) && !body[k].isNull(); };
  auto string_field = [&](const char* k, bool required, std::optional<std::string>& out) {
    if (!present(k)) {
      if (required) {
        errors.append(validation_error(k, nullptr, "isString", std::string(k) + " must be a string"));
      }
      return false;
    }
    if (!body[k].isString()) {
      errors.append(validation_error(k, &body[k], "isString", std::string(k) + " must be a string"));
      return false;
    }
    out = body[k].asString();
    return true;
  };

  if (string_field("email", is_create, in.email) && !is_email(*in.email)) {
    errors.append(validation_error("email", &body["email"], "isEmail", "email must be an email"));
    in.email.reset();
  }
  string_field("name", is_create, in.name);
  if (present("timeFormat")) {
    int64_t tf = 0;
    if (json_as_int64(body["timeFormat"], tf) && (tf == 12 || tf == 24)) {
      in.time_format = static_cast<int>(tf);
    } else {
      errors.append(validation_error("timeFormat", &body["timeFormat"], "isIn",
                                     "timeFormat must be one of the following values: 12, 24"));
    }
  }
  if (present("weekStart")) {
    const auto& days = week_days();
    if (body["weekStart"].isString() &&
        std::find(days.begin(), days.end(), body["weekStart"].asString()) != days.end()) {
      in.week_start = body["weekStart"].asString();
    } else {
      errors.append(validation_error("weekStart", &body["weekStart"], "isEnum",
                                     "weekStart must be one of the following values: " + join(days, ", ")));
    }
  }
  if (present("timeZone")) {
    std::optional<std::string> tz;
    if (body["timeZone"].isString()) tz = canonical_time_zone(body["timeZone"].asString());
    if (tz) {
      in.time_zone = *tz;
    } else {
      errors.append(validation_error("timeZone", &body["timeZone"], "isTimeZone",
                                     "timeZone must be a valid IANA time zone"));
    }
  }
  if (present("locale")) {
    const auto& l = locales();
    if (body["locale"].isString() &&
        std::find(l.begin(), l.end(), body["locale"].asString()) != l.end()) {
      in.locale = body["locale"].asString();
    } else {
      errors.append(validation_error("locale", &body["locale"], "isEnum",
                                     "locale must be one of the following values: " + join(l, ", ")));
    }
  }
  if (present("avatarUrl")) {
    if (body["avatarUrl"].isString() && is_http_url(body["avatarUrl"].asString())) {
      in.avatar_url = body["avatarUrl"].asString();
    } else {
      errors.append(validation_error("avatarUrl", &body["avatarUrl"], "isUrl",
                                     "avatarUrl must be a URL address"));
    }
  }
  string_field("bio", false, in.bio);
  if (present("metadata")) {
    const Json::Value& m = body["metadata"];
    if (!m.isObject()) {
      errors.append(validation_error("metadata", &m, "isObject", "metadata must be an object"));
    } else {
      bool ok = m.size() <= 50;
      for (const auto& key : m.getMemberNames()) {
        const Json::Value& v = m[key];
        if (utf8_length(key) > 40) ok = false;
        if (v.isString()) {
          if (utf8_length(v.asString()) > 500) ok = false;
        } else if (!json_is_number(v) && !v.isBool()) {
          ok = false;
        }
      }
      if (ok) in.metadata = m;
      else errors.append(validation_error("metadata", &m, "validateMetadata", k_metadata_message));
    }
  }
  if (!is_create && present("defaultScheduleId")) {
    int64_t id = 0;
    if (json_is_number(body["defaultScheduleId"]) && json_as_int64(body["defaultScheduleId"], id)) {
      in.default_schedule_id = id;
    } else {
      errors.append(validation_error("defaultScheduleId", &body["defaultScheduleId"], "isNumber",
                                     "defaultScheduleId must be a number conforming to the specified "
                                     "constraints"));
    }
  }
  return in;
}

/* Copies the validated fields except email onto the user. */
inline void apply_user_input(User& u, const UserInput& in) {
  if (in.name) u.name = *in.name;
  if (in.time_format) u.time_format = *in.time_format;
  if (in.week_start) u.week_start = *in.week_start;
  if (in.time_zone) u.time_zone = *in.time_zone;
  if (in.locale) u.locale = *in.locale;
  if (in.avatar_url) u.avatar_url = *in.avatar_url;
  if (in.bio) u.bio = *in.bio;
  if (in.metadata) u.metadata = *in.metadata;
  if (in.default_schedule_id) u.default_schedule_id = static_cast<Json::Int64>(*in.default_schedule_id);
}

/* -------------------------------------------------------------- seeding */

/* Clears everything and seeds: the platform owner (whom client credentials
 * authenticate as) and two regular Cal.com accounts for the standard OAuth2
 * consent page. Keeps the JWT key. Precondition: st.mu held or no threads. */
inline void reset_state(State& st, const Config& cfg) {
  st.users.clear();
  st.schedules.clear();
  st.event_types.clear();
  st.bookings.clear();
  st.booking_ids.clear();
  st.reservations.clear();
  st.tokens.clear();
  st.retired_refresh.clear();
  st.auth_codes.clear();
  st.faults.clear();
  st.rate_windows.clear();
  st.counters = Counters{};
  st.next_user_id = 1001;
  st.next_schedule_id = 201;
  st.next_event_type_id = 5501;
  st.next_booking_id = 88001;
  st.next_fault_id = 1;
  st.clock_offset_ms = 0;
  st.clock_frozen = false;
  st.clock_frozen_ms = 0;
  st.webhooks.clear();
  st.next_webhook_seq = 1;
  st.webhook_jobs.clear();
  st.deliveries.clear();
  st.next_delivery_seq = 1;
  st.webhook_mode = WebhookMode{};
  st.webhook_held.clear();
  st.webhook_queue.clear();
  st.webhook_epoch++;
  st.webhook_cv.notify_all();
  const std::string created = iso_utc_ms(real_now_ms());

  User owner;
  owner.id = 1000;
  owner.email = "platform-owner@platform-org.example";
  owner.username = "platform-owner";
  owner.name = "Platform Owner";
  owner.time_zone = "Europe/London";
  owner.created_date = created;
  owner.organization_id = cfg.has_organization ? cfg.organization_id : 0;
  owner.is_platform_owner = true;
  st.users[owner.id] = owner;

  struct Seed { int64_t id; const char* name; const char* email; const char* username;
                const char* tz; const char* week_start; int time_format; };
  const Seed seeds[] = {
      {9001, "Jordan Existing", "jordan@cal-existing.example", "jordan-existing", "America/Chicago",
       "Sunday", 12},
      {9002, "Riley Existing", "riley@cal-existing.example", "riley-existing", "Europe/Berlin",
       "Monday", 24},
  };
  for (const auto& s : seeds) {
    User u;
    u.id = s.id;
    u.name = s.name;
    u.email = s.email;
    u.username = s.username;
    u.time_zone = s.tz;
    u.week_start = s.week_start;
    u.time_format = s.time_format;
    u.locale = "en";
    u.created_date = created;
    u.default_schedule_id = static_cast<Json::Int64>(create_default_schedule(st, u.id, s.tz));
    st.users[u.id] = u;
  }
}

/* ------------------------------------------------------------- handlers */

/* The managed user {userId} of this client, or a 400/404 reply. */
inline std::optional<Reply> find_managed_user(Call& c, const std::string& client_id,
                                              const std::string& user_id_text, User*& out) {
  int64_t id = 0;
  if (!parse_int64(user_id_text, id)) {
    return error_reply(c, 400, "Validation failed (numeric string is expected)");
  }
  auto it = c.st.users.find(id);
  if (it == c.st.users.end() || !it->second.is_platform_managed ||
      it->second.oauth_client_id != client_id) {
    return error_reply(c, 404, "User with ID " + user_id_text + " is not part of this OAuth client.");
  }
  out = &it->second;
  return std::nullopt;
}

/* POST /v2/oauth-clients/{clientId}/users -> 201 {user, tokens}. */
inline Reply handle_create_managed_user(Call& c) {
  const std::string& client_id = c.params[0];
  if (auto err = require_client(c, client_id)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  Json::Value errors(Json::arrayValue);
  UserInput in = parse_user_input(body, true, errors);
  if (!errors.empty()) return validation_reply(c, errors);

  const std::string email = managed_email(client_id, *in.email);
  if (const User* existing = find_user_by_email(c.st, email)) {
    return error_reply(c, 409, "User with the provided e-mail already exists. Existing user ID=" +
                                   std::to_string(existing->id));
  }
  if (!c.cfg.has_organization) {
    return error_reply(c, 400, "You cannot create a managed user outside of an organization");
  }
  User u;
  u.id = c.st.next_user_id++;
  u.email = email;
  u.username = username_on_create(email);
  u.created_date = iso_utc_ms(c.now_ms);
  u.oauth_client_id = client_id;
  u.is_platform_managed = true;
  u.organization_id = c.cfg.organization_id;
  apply_user_input(u, in);
  if (in.time_zone) {
    u.default_schedule_id = static_cast<Json::Int64>(create_default_schedule(c.st, u.id, *in.time_zone));
  }
  c.st.users[u.id] = u;
  KeyPair kp = mint_platform_pair(c, u.id);

  Json::Value data = keys_json(kp);
  data["user"] = managed_user_json(u);
  return ok_reply(data, 201);
}

/* GET /v2/oauth-clients/{clientId}/users?limit&offset&emails -> bare array. */
inline Reply handle_list_managed_users(Call& c) {
  const std::string& client_id = c.params[0];
  if (auto err = require_client(c, client_id)) return *err;
  Json::Value errors(Json::arrayValue);
  auto int_param = [&](const char* name, int64_t lo, int64_t hi, int64_t dflt) {
    auto text = c.query(name);
    if (!text) return dflt;
    int64_t v = 0;
    Json::Value shown(*text);
    if (!parse_int64(*text, v)) {
      errors.append(validation_error(name, &shown, "isNumber",
                                     std::string(name) +
                                         " must be a number conforming to the specified constraints"));
    } else if (v < lo) {
      errors.append(validation_error(name, &shown, "min",
                                     std::string(name) + " must not be less than " + std::to_string(lo)));
    } else if (v > hi) {
      errors.append(validation_error(name, &shown, "max",
                                     std::string(name) + " must not be greater than " +
                                         std::to_string(hi)));
    }
    return v;
  };
  int64_t limit = int_param("limit", 1, 250, 50);
  int64_t offset = int_param("offset", 0, 250, 0);
  std::optional<std::set<std::string>> emails;
  // ?emails=a,b and ?emails=a&emails=b are both accepted.
  const size_t n_email_params = c.req.get_param_value_count("emails");
  if (n_email_params > 0) emails.emplace();
  for (size_t i = 0; i < n_email_params; ++i) {
    for (const auto& part : split(c.req.get_param_value("emails", i), ',')) {
      std::string e = trim(part);
      if (!is_email(e)) return error_reply(c, 400, "Invalid email " + e);
      emails->insert(to_lower(managed_email(client_id, e)));
    }
  }
  if (!errors.empty()) return validation_reply(c, errors);

  Json::Value data(Json::arrayValue);
  int64_t skipped = 0;
  for (const auto& [id, u] : c.st.users) {
    if (!u.is_platform_managed || u.oauth_client_id != client_id) continue;
    if (emails && !emails->count(to_lower(u.email))) continue;
    if (skipped < offset) { ++skipped; continue; }
    if (static_cast<int64_t>(data.size()) >= limit) break;
    data.append(managed_user_json(u));
  }
  return ok_reply(data);
}

/* GET /v2/oauth-clients/{clientId}/users/{userId}. */
inline Reply handle_get_managed_user(Call& c) {
  if (auto err = require_client(c, c.params[0])) return *err;
  User* u = nullptr;
  if (auto err = find_managed_user(c, c.params[0], c.params[1], u)) return *err;
  return ok_reply(managed_user_json(*u));
}

/* Applies a validated update to a managed user: a new email is rewritten with
 * +clientId and re-derives the username; 409 if another user has it. */
inline std::optional<Reply> update_managed_user(Call& c, User& u, const UserInput& in) {
  if (in.email) {
    std::string email = managed_email(u.oauth_client_id, *in.email);
    const User* other = find_user_by_email(c.st, email);
    if (other && other->id != u.id) {
      return error_reply(c, 409, "User with the provided e-mail already exists. Existing user ID=" +
                                     std::to_string(other->id));
    }
    u.email = email;
    u.username = username_on_email_change(email);
  }
  apply_user_input(u, in);
  return std::nullopt;
}

/* PATCH /v2/oauth-clients/{clientId}/users/{userId}. */
inline Reply handle_patch_managed_user(Call& c) {
  if (auto err = require_client(c, c.params[0])) return *err;
  User* u = nullptr;
  if (auto err = find_managed_user(c, c.params[0], c.params[1], u)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  Json::Value errors(Json::arrayValue);
  UserInput in = parse_user_input(body, false, errors);
  if (!errors.empty()) return validation_reply(c, errors);
  if (auto err = update_managed_user(c, *u, in)) return *err;
  return ok_reply(managed_user_json(*u));
}

/* Removes everything a deleted user owned: schedules, event types, the
 * bookings they host (with their scheduled MEETING_* webhooks), their
 * reservations and their user-scope webhooks. */
inline void delete_user_data(State& st, int64_t id) {
  for (auto it = st.schedules.begin(); it != st.schedules.end();) {
    it = it->second.owner_id == id ? st.schedules.erase(it) : std::next(it);
  }
  for (auto it = st.event_types.begin(); it != st.event_types.end();) {
    it = it->second.owner_id == id ? st.event_types.erase(it) : std::next(it);
  }
  for (auto it = st.webhooks.begin(); it != st.webhooks.end();) {
    const Webhook& w = it->second;
    const bool gone = w.user_id == id || (w.scope == "event-type" && !st.event_types.count(w.event_type_id));
    it = gone ? st.webhooks.erase(it) : std::next(it);
  }
  for (auto it = st.bookings.begin(); it != st.bookings.end();) {
    if (it->second.host_id == id) {
      const std::string uid = it->second.uid;
      st.webhook_jobs.erase(std::remove_if(st.webhook_jobs.begin(), st.webhook_jobs.end(),
                                           [&](const WebhookJob& j) { return j.booking_uid == uid; }),
                            st.webhook_jobs.end());
      st.booking_ids.erase(it->second.uid);
      it = st.bookings.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = st.reservations.begin(); it != st.reservations.end();) {
    it = it->second.host_id == id ? st.reservations.erase(it) : std::next(it);
  }
}

/* DELETE /v2/oauth-clients/{clientId}/users/{userId}: the deleted user; its
 * tokens, schedules, event types, hosted bookings, reservations and pending
 * auth codes go with it. */
inline Reply handle_delete_managed_user(Call& c) {
  if (auto err = require_client(c, c.params[0])) return *err;
  User* u = nullptr;
  if (auto err = find_managed_user(c, c.params[0], c.params[1], u)) return *err;
  Json::Value data = managed_user_json(*u);
  const int64_t id = u->id;
  revoke_user_tokens(c.st, TokenFamily::platform, id, "user-deleted");
  revoke_user_tokens(c.st, TokenFamily::oauth2, id, "user-deleted");
  delete_user_data(c.st, id);
  c.st.users.erase(id);
  return ok_reply(data);
}

/* POST /v2/oauth-clients/{clientId}/users/{userId}/force-refresh: drops all
 * the user's tokens for this client and mints a fresh pair. */
inline Reply handle_force_refresh(Call& c) {
  if (auto err = require_client(c, c.params[0])) return *err;
  User* u = nullptr;
  if (auto err = find_managed_user(c, c.params[0], c.params[1], u)) return *err;
  revoke_user_tokens(c.st, TokenFamily::platform, u->id, "force-refresh");
  c.st.counters.n_force_refresh++;
  u->n_force_refresh++;
  return ok_reply(keys_json(mint_platform_pair(c, u->id)));
}

/* POST /v2/oauth/{clientId}/refresh {refreshToken}: rotation. The presented
 * refresh token is deleted and a new pair returned. A wrong client id or
 * secret, an unknown, used (rotated), expired or foreign refresh token all
 * give 400 "Invalid OAuthClient credentials.". */
inline Reply handle_refresh(Call& c) {
  const std::string& client_id = c.params[0];
  c.st.counters.n_refresh_calls++;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  const Json::Value& cbody = body;  // const: operator[] must not insert members
  if (!cbody["refreshToken"].isString()) {
    Json::Value errors(Json::arrayValue);
    const Json::Value* shown = cbody.isMember("refreshToken") ? &cbody["refreshToken"] : nullptr;
    errors.append(validation_error("refreshToken", shown, "isString", "refreshToken must be a string"));
    return validation_reply(c, errors);
  }
  const std::string token = cbody["refreshToken"].asString();
  const std::string secret = c.header("x-cal-secret-key");
  bool creds_ok = client_id == c.cfg.client_id && !secret.empty() &&
                  coach::crypto::constant_time_equal(secret, c.cfg.client_secret);
  auto it = c.st.tokens.find(token);
  bool token_ok = it != c.st.tokens.end() && it->second.kind == TokenKind::refresh &&
                  it->second.family == TokenFamily::platform && it->second.client_id == client_id &&
                  c.now_ms <= it->second.expires_at_ms &&
                  c.st.users.count(it->second.user_id) != 0;
  if (!creds_ok || !token_ok) {
    auto retired = c.st.retired_refresh.find(token);
    if (creds_ok && retired != c.st.retired_refresh.end() &&
        retired->second.family == TokenFamily::platform) {
      c.st.counters.n_refresh_reuse_rejections++;
    } else {
      c.st.counters.n_refresh_invalid_rejections++;
    }
    return error_reply(c, 400, "Invalid OAuthClient credentials.");
  }
  const int64_t user_id = it->second.user_id;
  c.st.tokens.erase(it);
  c.st.retired_refresh[token] = RetiredToken{TokenFamily::platform, user_id, "rotated"};
  purge_expired_access_tokens(c.st, TokenFamily::platform, client_id, c.now_ms);
  c.st.counters.n_refresh_ok++;
  c.st.users[user_id].n_refresh_ok++;
  return ok_reply(keys_json(mint_platform_pair(c, user_id)));
}

/* GET /v2/me. */
inline Reply handle_get_me(Call& c) {
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  return ok_reply(me_json(c.st.users.at(user_id)));
}

/* PATCH /v2/me: UpdateManagedUserInput. A managed user's new email is
 * rewritten like the managed-user PATCH; a regular account's email stays
 * unchanged (Cal.com waits for verification, which the emulator never does). */
inline Reply handle_patch_me(Call& c) {
  int64_t user_id = 0;
  if (auto err = authenticate_user(c, user_id)) return *err;
  Json::Value body;
  if (auto err = read_json_body(c, body)) return *err;
  Json::Value errors(Json::arrayValue);
  UserInput in = parse_user_input(body, false, errors);
  if (!errors.empty()) return validation_reply(c, errors);
  User& u = c.st.users.at(user_id);
  if (u.is_platform_managed) {
    if (auto err = update_managed_user(c, u, in)) return *err;
  } else {
    in.email.reset();
    apply_user_input(u, in);
  }
  return ok_reply(me_json(u));
}

}  // namespace calcom_emu
