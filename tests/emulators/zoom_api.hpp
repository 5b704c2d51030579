/* zoom_api.hpp: the Zoom API surface of the emulator (reference §2.1-§2.4,
 * §5.2): the Server-to-Server OAuth token endpoint, Bearer checks with scopes,
 * users (/v2/users/me, /v2/users/{userId}) and meetings (create, list, get,
 * patch, delete) with Zoom's validation and error codes, plus the join/start
 * pages behind join_url and start_url. Every handler runs with State::mu held. */
#pragma once
#include "http.hpp"
#include "zoom_webhooks.hpp"

namespace zoom_emu {

/* ================================================================ tokens */

/* A JWT-shaped opaque access token (clients must not parse it). */
inline std::string make_access_token(const Call& c, int64_t exp_ms) {
  Json::Value h(Json::objectValue);
  h["alg"] = "HS512";
  h["v"] = "2.0";
  h["kid"] = "zoom-emulator";
  Json::Value p(Json::objectValue);
  p["aud"] = "https://oauth.zoom.us";
  p["uid"] = c.st.users.front().id;
  p["ver"] = 10;
  p["auid"] = coach::crypto::random_hex(16);
  p["nbf"] = static_cast<Json::Int64>(c.now_ms / 1000);
  p["iss"] = "zm:cid:" + c.cfg.client_id;
  p["gno"] = 0;
  p["exp"] = static_cast<Json::Int64>(exp_ms / 1000);
  p["iat"] = static_cast<Json::Int64>(c.now_ms / 1000);
  p["aid"] = c.cfg.account_id;
  p["jti"] = coach::crypto::random_hex(16);
  const std::string signing = coach::crypto::base64url_encode(coach::json::write(h)) + "." +
                              coach::crypto::base64url_encode(coach::json::write(p));
  return signing + "." + coach::crypto::base64url_encode(coach::crypto::hmac_sha256(c.st.jwt_key, signing));
}

/* POST /oauth/token: grant_type=account_credentials and account_id from the
 * query string or the form body, client id:secret in Basic auth. Errors:
 * invalid_client (400, or --invalid-client-status), unsupported_grant_type,
 * invalid_request "Invalid Account Id". */
inline Reply handle_token(Call& c) {
  c.st.counters.n_token_requests++;
  std::map<std::string, std::string> params;
  if (to_lower(c.header("Content-Type")).find("application/x-www-form-urlencoded") != std::string::npos) {
    params = coach::parse_urlencoded(c.req.body);
  }
  for (const auto& [k, v] : c.req.params) params.emplace(k, v);  // query (and form, as httplib parsed it)
  auto param = [&](const char* k) -> std::optional<std::string> {
    auto it = params.find(k);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  auto fail = [&](int status, const char* error, const char* reason) {
    c.st.counters.n_token_errors++;
    return oauth_error(status, error, reason);
  };

  // Client authentication: Basic base64(client_id:client_secret).
  const std::string auth = c.header("Authorization");
  bool client_ok = false;
  if (auth.size() > 6 && to_lower(auth.substr(0, 6)) == "basic ") {
    std::string b64 = auth.substr(6);
    while (!b64.empty() && b64.front() == ' ') b64.erase(0, 1);
    if (auto decoded = coach::crypto::base64_decode(b64)) {
      const size_t colon = decoded->find(':');
      if (colon != std::string::npos) {
        client_ok = coach::crypto::constant_time_equal(decoded->substr(0, colon), c.cfg.client_id) &&
                    coach::crypto::constant_time_equal(decoded->substr(colon + 1), c.cfg.client_secret);
      }
    }
  }
  if (!client_ok) {
    return fail(c.cfg.invalid_client_status, "invalid_client", "Invalid client_id or client_secret");
  }
  const auto grant = param("grant_type");
  if (!grant || *grant != "account_credentials") {
    return fail(400, "unsupported_grant_type", "unsupported grant type");
  }
  const auto account = param("account_id");
  if (!account || *account != c.cfg.account_id) {
    return fail(400, "invalid_request", "Invalid Account Id");
  }

  Token t;
  t.issued_ms = c.now_ms;
  t.expires_ms = c.now_ms + c.st.token_ttl_s * 1000;
  t.scopes = c.st.scopes;
  const std::string token = make_access_token(c, t.expires_ms);
  c.st.tokens[token] = t;
  c.st.counters.n_tokens_issued++;
  std::string scope;
  for (const auto& s : t.scopes) scope += (scope.empty() ? "" : " ") + s;
  Json::Value j(Json::objectValue);
  j["access_token"] = token;
  j["token_type"] = "bearer";
  j["expires_in"] = static_cast<Json::Int64>(c.st.token_ttl_s);
  j["scope"] = scope;
  j["api_url"] = c.base_url;
  Reply r = json_reply(200, j);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

/* Checks the Bearer token (401 code 124 when missing, unknown or expired)
 * and that it holds one of `any_of` (400 code 4711 naming the first two). */
inline std::optional<Reply> authenticate(Call& c, const std::vector<std::string>& any_of) {
  const std::string auth = c.header("Authorization");
  std::string token;
  if (auth.size() > 7 && to_lower(auth.substr(0, 7)) == "bearer ") token = auth.substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  auto it = token.empty() ? c.st.tokens.end() : c.st.tokens.find(token);
  if (it == c.st.tokens.end() || it->second.expires_ms <= c.now_ms) {
    c.st.counters.n_unauthorized++;
    return zoom_error(401, 124, "Invalid access token.");
  }
  for (const auto& s : any_of) {
    if (it->second.scopes.count(s)) return std::nullopt;
  }
  c.st.counters.n_missing_scope++;
  std::string names = any_of.size() >= 2 ? any_of[1] + ", " + any_of[0] : any_of.at(0);
  return zoom_error(400, 4711, "Invalid access token, does not contain scopes:[" + names + "].");
}

// Granular admin scope first, then its non-admin form, then the classic names.
inline const std::vector<std::string> k_scope_create = {"meeting:write:meeting:admin", "meeting:write:meeting",
                                                        "meeting:write:admin", "meeting:write"};
inline const std::vector<std::string> k_scope_read = {"meeting:read:meeting:admin", "meeting:read:meeting",
                                                      "meeting:read:admin", "meeting:read"};
inline const std::vector<std::string> k_scope_list = {"meeting:read:list_meetings:admin",
                                                      "meeting:read:list_meetings", "meeting:read:admin",
                                                      "meeting:read"};
inline const std::vector<std::string> k_scope_update = {"meeting:update:meeting:admin", "meeting:update:meeting",
                                                        "meeting:write:admin", "meeting:write"};
inline const std::vector<std::string> k_scope_delete = {"meeting:delete:meeting:admin", "meeting:delete:meeting",
                                                        "meeting:write:admin", "meeting:write"};
inline const std::vector<std::string> k_scope_user = {"user:read:user:admin", "user:read:user", "user:read:admin",
                                                      "user:read"};

/* ================================================================= users */

/* "me", a known e-mail (any case) or a user id; nullptr when unknown. */
inline const User* find_user(const State& st, const std::string& user_id) {
  if (user_id == "me") return &st.users.front();
  const std::string lower = to_lower(user_id);
  for (const auto& u : st.users) {
    if (u.id == user_id || to_lower(u.email) == lower) return &u;
  }
  return nullptr;
}

inline std::optional<Reply> require_user(Call& c, const std::string& user_id, const User*& out) {
  out = find_user(c.st, user_id);
  if (out) return std::nullopt;
  c.st.counters.n_not_found++;
  return zoom_error(404, 1001, "User does not exist: " + user_id + ".");
}

inline Json::Value user_json(const Call& c, const User& u) {
  Json::Value j(Json::objectValue);
  j["id"] = u.id;
  j["first_name"] = u.first_name;
  j["last_name"] = u.last_name;
  j["display_name"] = u.first_name + " " + u.last_name;
  j["email"] = u.email;
  j["type"] = 2;  // licensed
  j["role_name"] = u.is_owner ? "Owner" : "Member";
  j["pmi"] = static_cast<Json::Int64>(u.pmi);
  j["use_pmi"] = false;
  j["personal_meeting_url"] = c.base_url + "/j/" + std::to_string(u.pmi);
  j["timezone"] = u.timezone;
  j["verified"] = 1;
  j["dept"] = "";
  j["created_at"] = "2024-01-01T00:00:00Z";
  j["last_login_time"] = iso_utc(c.now_ms);
  j["language"] = "en-US";
  j["phone_number"] = "";
  j["status"] = "active";
  j["role_id"] = u.is_owner ? "0" : "2";
  j["account_id"] = c.cfg.account_id;
  j["account_number"] = 1000001;
  j["cluster"] = "emu";
  j["user_created_at"] = "2024-01-01T00:00:00Z";
  return j;
}

/* GET /v2/users/{userId} (and /v2/users/me). */
inline Reply handle_get_user(Call& c) {
  if (auto err = authenticate(c, k_scope_user)) return *err;
  const User* u = nullptr;
  if (auto err = require_user(c, c.params.empty() ? "me" : c.params[0], u)) return *err;
  return json_reply(200, user_json(c, *u));
}

/* ============================================================== meetings */

inline Json::Value default_settings() {
  Json::Value s(Json::objectValue);
  s["host_video"] = false;
  s["participant_video"] = false;
  s["cn_meeting"] = false;
  s["in_meeting"] = false;
  s["join_before_host"] = false;
  s["jbh_time"] = 0;
  s["mute_upon_entry"] = false;
  s["watermark"] = false;
  s["use_pmi"] = false;
  s["approval_type"] = 2;
  s["audio"] = "voip";
  s["auto_recording"] = "none";
  s["enforce_login"] = false;
  s["enforce_login_domains"] = "";
  s["alternative_hosts"] = "";
  s["alternative_hosts_email_notification"] = true;
  s["close_registration"] = false;
  s["show_share_button"] = false;
  s["allow_multiple_devices"] = false;
  s["registrants_confirmation_email"] = true;
  s["waiting_room"] = false;
  s["registrants_email_notification"] = true;
  s["meeting_authentication"] = false;
  s["encryption_type"] = "enhanced_encryption";
  s["email_notification"] = true;
  s["private_meeting"] = false;
  s["push_change_to_calendar"] = false;
  s["host_save_video_order"] = false;
  s["focus_mode"] = false;
  s["participant_focused_meeting"] = false;
  s["request_permission_to_unmute_participants"] = false;
  s["auto_start_meeting_summary"] = false;
  s["device_testing"] = false;
  return s;
}

/* Validates one settings object; appends errors, returns the accepted keys
 * (unknown keys are ignored, as Zoom does). */
inline Json::Value check_settings(const Json::Value& s, Json::Value& errors) {
  Json::Value out(Json::objectValue);
  static const std::set<std::string> bools = {
      "host_video", "participant_video", "cn_meeting", "in_meeting", "join_before_host", "mute_upon_entry",
      "watermark", "use_pmi", "enforce_login", "alternative_hosts_email_notification", "close_registration",
      "show_share_button", "allow_multiple_devices", "registrants_confirmation_email", "waiting_room",
      "registrants_email_notification", "meeting_authentication", "email_notification", "private_meeting",
      "push_change_to_calendar", "host_save_video_order", "focus_mode", "participant_focused_meeting",
      "request_permission_to_unmute_participants", "auto_start_meeting_summary", "device_testing"};
  static const std::map<std::string, std::set<std::string>> string_enums = {
      {"auto_recording", {"local", "cloud", "none"}},
      {"audio", {"both", "telephony", "voip", "thirdParty"}},
      {"encryption_type", {"enhanced_encryption", "e2ee"}}};
  static const std::map<std::string, std::set<int64_t>> int_enums = {
      {"approval_type", {0, 1, 2}}, {"registration_type", {1, 2, 3}}, {"jbh_time", {0, 5, 10, 15}},
      {"calendar_type", {1, 2}}};
  static const std::set<std::string> strings = {"alternative_hosts", "enforce_login_domains", "contact_name",
                                                "contact_email", "authentication_option", "authentication_domains"};
  auto bad = [&](const std::string& key) {
    Json::Value e(Json::objectValue);
    e["field"] = "settings." + key;
    e["message"] = "Invalid field.";
    errors.append(e);
  };
  for (const auto& key : s.getMemberNames()) {
    const Json::Value& v = s[key];
    if (bools.count(key)) {
      if (!v.isBool()) { bad(key); continue; }
    } else if (auto se = string_enums.find(key); se != string_enums.end()) {
      if (!v.isString() || !se->second.count(v.asString())) { bad(key); continue; }
    } else if (auto ie = int_enums.find(key); ie != int_enums.end()) {
      int64_t n = 0;
      if (!json_int(v, n) || !ie->second.count(n)) { bad(key); continue; }
      out[key] = static_cast<Json::Int64>(n);
      continue;
    } else if (strings.count(key)) {
      if (!v.isString() || v.asString().size() > 1024) { bad(key); continue; }
    } else if (key == "meeting_invitees") {
      bool ok = v.isArray() && v.size() <= 300;
      if (ok) {
        for (const auto& inv : v) {
          if (!inv.isObject() || !inv["email"].isString() || inv["email"].asString().find('@') == std::string::npos) {
            ok = false;
          }
        }
      }
      if (!ok) { bad(key); continue; }
    } else {
      continue;  // unknown: ignored
    }
    out[key] = v;
  }
  return out;
}

/* Validates a create or patch body and returns the accepted fields in output
 * form (start_time normalised to UTC "...Z"). `zone_fallback` reads
 * start_time without "Z" when the body has no timezone. Errors go to
 * `errors` as {field, message:"Invalid field."}. */
inline Json::Value check_meeting_fields(const Json::Value& b, const std::string& zone_fallback, Json::Value& errors) {
  Json::Value out(Json::objectValue);
  auto bad = [&](const char* field) {
    Json::Value e(Json::objectValue);
    e["field"] = field;
    e["message"] = "Invalid field.";
    errors.append(e);
  };
  auto present = [&](const char* k) { return b.isMember(k) && !b[k].isNull(); };
  if (present("topic")) {
    if (!b["topic"].isString() || b["topic"].asString().size() > 200) bad("topic");
    else out["topic"] = b["topic"];
  }
  if (present("type")) {
    int64_t t = 0;
    if (!json_int(b["type"], t) || !(t == 1 || t == 2 || t == 3 || t == 8 || t == 10)) bad("type");
    else out["type"] = static_cast<Json::Int64>(t);
  }
  std::string zone = zone_fallback;
  if (present("timezone")) {
    if (!b["timezone"].isString() || !coach::slots::is_valid_zone(b["timezone"].asString())) {
      bad("timezone");
    } else {
      zone = b["timezone"].asString();
      out["timezone"] = zone;
    }
  }
  if (present("start_time")) {
    std::optional<int64_t> t;
    if (b["start_time"].isString()) t = parse_start_time(b["start_time"].asString(), zone);
    if (!t) bad("start_time");
    else out["start_time"] = iso_utc(*t);
  }
  if (present("duration")) {
    int64_t d = 0;
    if (!json_int(b["duration"], d) || d <= 0 || d > 100000) bad("duration");
    else out["duration"] = static_cast<Json::Int64>(d);
  }
  if (present("agenda")) {
    if (!b["agenda"].isString() || b["agenda"].asString().size() > 2000) bad("agenda");
    else out["agenda"] = b["agenda"];
  }
  if (present("password")) {
    bool ok = b["password"].isString() && b["password"].asString().size() <= 10;
    if (ok) {
      for (unsigned char ch : b["password"].asString()) {
        if (!(std::isalnum(ch) || ch == '@' || ch == '-' || ch == '_' || ch == '*')) ok = false;
      }
    }
    if (!ok) bad("password");
    else out["password"] = b["password"];
  }
  if (present("pre_schedule")) {
    if (!b["pre_schedule"].isBool()) bad("pre_schedule");
    else out["pre_schedule"] = b["pre_schedule"];
  }
  if (present("default_password")) {
    if (!b["default_password"].isBool()) bad("default_password");
  }
  if (present("recurrence")) {
    if (!b["recurrence"].isObject()) bad("recurrence");
    else out["recurrence"] = b["recurrence"];
  }
  if (present("settings")) {
    if (!b["settings"].isObject()) bad("settings");
    else out["settings"] = check_settings(b["settings"], errors);
  }
  return out;
}

/* Parses the body as a JSON object; 400 code 300 otherwise. An empty body
 * reads as {} (PATCH with nothing to change). */
inline std::optional<Reply> read_body(Call& c, Json::Value& out, bool allow_empty) {
  const std::string& body = c.req.body;
  bool blank = true;
  for (unsigned char ch : body) if (!std::isspace(ch)) blank = false;
  if (blank && allow_empty) { out = Json::Value(Json::objectValue); return std::nullopt; }
  auto parsed = blank ? coach::Result<Json::Value>(coach::make_error(400, "bad_json", "empty"))
                      : coach::json::parse(body);
  if (!parsed || !parsed->isObject()) {
    c.st.counters.n_validation_errors++;
    return zoom_error(400, 300, "Request Body should be a valid JSON object.");
  }
  out = *parsed;
  return std::nullopt;
}

/* Digits of a 6-digit numeric passcode for H.323/PSTN: the passcode itself
 * when it is numeric, else random digits. */
inline std::string numeric_password(const std::string& pw) {
  if (pw.empty()) return "";
  bool digits = true;
  for (unsigned char ch : pw) if (!std::isdigit(ch)) digits = false;
  return digits ? pw : random_digits(6);
}

inline std::string join_url(const Call& c, const Meeting& m) {
  std::string u = c.base_url + "/j/" + std::to_string(m.id);
  if (!m.obj["password"].asString().empty()) u += "?pwd=" + m.encrypted_password;
  return u;
}

/* The full meeting object of §2.3/§2.4. Each call mints a fresh start_url
 * ZAK (valid 2 hours), as GET does on Zoom. */
inline Json::Value meeting_json(Call& c, Meeting& m) {
  Json::Value j(Json::objectValue);
  j["uuid"] = m.uuid;
  j["id"] = static_cast<Json::Int64>(m.id);
  j["host_id"] = m.host_id;
  j["host_email"] = m.host_email;
  j["assistant_id"] = "";
  j["topic"] = m.obj["topic"];
  j["type"] = m.obj["type"];
  j["status"] = m.status;
  if (m.obj.isMember("start_time")) j["start_time"] = m.obj["start_time"];
  if (m.obj.isMember("duration")) j["duration"] = m.obj["duration"];
  j["timezone"] = m.obj["timezone"];
  if (m.obj.isMember("agenda")) j["agenda"] = m.obj["agenda"];
  j["created_at"] = iso_utc(m.created_ms);
  const std::string zak = coach::crypto::base64url_encode(coach::crypto::random_bytes(32));
  m.zaks[zak] = c.now_ms + 2LL * 3600 * 1000;
  if (m.zaks.size() > 50) m.zaks.erase(m.zaks.begin());
  j["start_url"] = c.base_url + "/s/" + std::to_string(m.id) + "?zak=" + zak;
  j["join_url"] = join_url(c, m);
  j["password"] = m.obj["password"];
  j["h323_password"] = m.h323_password;
  j["pstn_password"] = m.h323_password;
  j["encrypted_password"] = m.encrypted_password;
  if (m.obj.isMember("recurrence")) j["recurrence"] = m.obj["recurrence"];
  Json::Value settings = default_settings();
  for (const auto& k : m.obj["settings"].getMemberNames()) settings[k] = m.obj["settings"][k];
  j["settings"] = settings;
  j["pre_schedule"] = m.obj.get("pre_schedule", false);
  j["creation_source"] = "open_api";
  return j;
}

inline std::optional<Reply> find_meeting(Call& c, const std::string& id_text, Meeting*& out) {
  int64_t id = 0;
  if (parse_int64(id_text, id)) {
    auto it = c.st.meetings.find(id);
    if (it != c.st.meetings.end() && !it->second.deleted) { out = &it->second; return std::nullopt; }
  }
  c.st.counters.n_not_found++;
  return zoom_error(404, 3001, "Meeting does not exist: " + id_text + ".");
}

/* Applies the password fields after a change of passcode. */
inline void set_password(Meeting& m, const std::string& pw) {
  m.obj["password"] = pw;
  m.encrypted_password = pw.empty() ? "" : random_base62(32);
  m.h323_password = numeric_password(pw);
}

/* POST /v2/users/{userId}/meetings -> 201 with the full object. */
inline Reply handle_create_meeting(Call& c) {
  if (auto err = authenticate(c, k_scope_create)) return *err;
  const User* host = nullptr;
  if (auto err = require_user(c, c.params[0], host)) return *err;
  Json::Value body;
  if (auto err = read_body(c, body, false)) return *err;
  Json::Value errors(Json::arrayValue);
  Json::Value f = check_meeting_fields(body, host->timezone, errors);
  if (!errors.empty()) {
    c.st.counters.n_validation_errors++;
    return validation_failed(errors);
  }
  Meeting m;
  do {
    m.id = 80000000000LL + static_cast<int64_t>(std::stoll(random_digits(10)) % 19999999999LL);
  } while (c.st.meetings.count(m.id));
  m.uuid = random_meeting_uuid();
  m.instance_uuid = m.uuid;
  m.host_id = host->id;
  m.host_email = host->email;
  m.created_ms = c.now_ms;
  m.obj = f;
  if (!m.obj.isMember("topic")) m.obj["topic"] = "Zoom Meeting";
  if (!m.obj.isMember("type")) m.obj["type"] = 2;
  if (!m.obj.isMember("timezone")) m.obj["timezone"] = host->timezone;
  const int64_t type = m.obj["type"].asInt64();
  if (type == 3) {
    m.obj.removeMember("start_time");
  } else if (type == 1 || !m.obj.isMember("start_time")) {
    m.obj["start_time"] = iso_utc(c.now_ms);  // instant, or scheduled without a time: now
  }
  if (!m.obj.isMember("duration") && type != 3) m.obj["duration"] = 60;
  if (!m.obj.isMember("settings")) m.obj["settings"] = Json::Value(Json::objectValue);
  set_password(m, m.obj.isMember("password") ? m.obj["password"].asString() : random_base62(6));
  auto& stored = c.st.meetings[m.id] = std::move(m);
  c.st.counters.n_meetings_created++;
  Json::Value out = meeting_json(c, stored);

  Json::Value object(Json::objectValue);
  for (const char* k : {"uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone", "agenda",
                        "join_url", "password", "settings", "pre_schedule"}) {
    if (out.isMember(k)) object[k] = out[k];
  }
  Json::Value payload = operator_payload(c, object);
  payload["operation"] = "single";
  enqueue_event(c, "meeting.created", payload);
  return json_reply(201, out);
}

/* GET /v2/meetings/{meetingId}. */
inline Reply handle_get_meeting(Call& c) {
  if (auto err = authenticate(c, k_scope_read)) return *err;
  Meeting* m = nullptr;
  if (auto err = find_meeting(c, c.params[0], m)) return *err;
  return json_reply(200, meeting_json(c, *m));
}

/* PATCH /v2/meetings/{meetingId}: partial update, settings deep-merged,
 * validated as for create; 204 with no body; meeting.updated with
 * old_object. */
inline Reply handle_patch_meeting(Call& c) {
  if (auto err = authenticate(c, k_scope_update)) return *err;
  Meeting* m = nullptr;
  if (auto err = find_meeting(c, c.params[0], m)) return *err;
  Json::Value body;
  if (auto err = read_body(c, body, true)) return *err;
  Json::Value errors(Json::arrayValue);
  const std::string zone = m->obj["timezone"].asString();
  Json::Value f = check_meeting_fields(body, zone, errors);
  if (!errors.empty()) {
    c.st.counters.n_validation_errors++;
    return validation_failed(errors);
  }
  Json::Value changed(Json::objectValue), old(Json::objectValue);
  for (const auto& k : f.getMemberNames()) {
    if (k == "settings") {
      Json::Value now_settings(Json::objectValue), old_settings(Json::objectValue);
      const Json::Value defaults = default_settings();
      for (const auto& sk : f["settings"].getMemberNames()) {
        const Json::Value before =
            m->obj["settings"].isMember(sk) ? m->obj["settings"][sk] : defaults.get(sk, Json::Value());
        if (before == f["settings"][sk]) continue;
        old_settings[sk] = before;
        now_settings[sk] = f["settings"][sk];
        m->obj["settings"][sk] = f["settings"][sk];
      }
      if (!now_settings.empty()) { changed["settings"] = now_settings; old["settings"] = old_settings; }
      continue;
    }
    if (m->obj.isMember(k) && m->obj[k] == f[k]) continue;
    old[k] = m->obj.get(k, Json::Value());
    changed[k] = f[k];
    if (k == "password") set_password(*m, f[k].asString());
    else m->obj[k] = f[k];
  }
  // Type changes keep the stored fields consistent with create's rules.
  const int64_t type = m->obj["type"].asInt64();
  if (type == 3) m->obj.removeMember("start_time");
  else if (!m->obj.isMember("start_time")) m->obj["start_time"] = iso_utc(c.now_ms);
  c.st.counters.n_meetings_updated++;

  changed["id"] = static_cast<Json::Int64>(m->id);
  changed["uuid"] = m->uuid;
  old["id"] = static_cast<Json::Int64>(m->id);
  old["uuid"] = m->uuid;
  Json::Value payload = operator_payload(c, changed);
  payload["scope"] = "single";
  payload["old_object"] = old;
  payload["time_stamp"] = static_cast<Json::Int64>(c.now_ms);
  enqueue_event(c, "meeting.updated", payload);
  return empty_reply(204);
}

/* DELETE /v2/meetings/{meetingId}: 204; again or unknown -> 404 code 3001. */
inline Reply handle_delete_meeting(Call& c) {
  if (auto err = authenticate(c, k_scope_delete)) return *err;
  Meeting* m = nullptr;
  if (auto err = find_meeting(c, c.params[0], m)) return *err;
  m->deleted = true;
  m->present.clear();
  c.st.counters.n_meetings_deleted++;
  Json::Value payload = operator_payload(c, event_meeting_object(*m, false));
  payload["operation"] = "single";
  enqueue_event(c, "meeting.deleted", payload);
  return empty_reply(204);
}

/* GET /v2/users/{userId}/meetings?type=scheduled|live|upcoming|
 * upcoming_meetings|previous_meetings&page_size=1..300&next_page_token=. */
inline Reply handle_list_meetings(Call& c) {
  if (auto err = authenticate(c, k_scope_list)) return *err;
  const User* host = nullptr;
  if (auto err = require_user(c, c.params[0], host)) return *err;
  const std::string type = c.req.has_param("type") ? c.req.get_param_value("type") : "scheduled";
  int64_t page_size = 30, offset = 0;
  Json::Value errors(Json::arrayValue);
  auto bad = [&](const char* field) {
    Json::Value e(Json::objectValue);
    e["field"] = field;
    e["message"] = "Invalid field.";
    errors.append(e);
  };
  if (!(type == "scheduled" || type == "live" || type == "upcoming" || type == "upcoming_meetings" ||
        type == "previous_meetings")) {
    bad("type");
  }
  if (c.req.has_param("page_size") &&
      (!parse_int64(c.req.get_param_value("page_size"), page_size) || page_size < 1 || page_size > 300)) {
    bad("page_size");
  }
  const std::string token = c.req.has_param("next_page_token") ? c.req.get_param_value("next_page_token") : "";
  if (!token.empty()) {
    auto raw = coach::crypto::base64url_decode(token);
    if (!raw || !starts_with(*raw, "o:") || !parse_int64(raw->substr(2), offset) || offset < 0) {
      bad("next_page_token");
    }
  }
  if (!errors.empty()) {
    c.st.counters.n_validation_errors++;
    return validation_failed(errors);
  }
  std::vector<Meeting*> hits;
  for (auto& [id, m] : c.st.meetings) {
    if (m.deleted || m.host_id != host->id) continue;
    const std::string start = m.obj.get("start_time", "").asString();
    if (type == "live" && m.status != "started") continue;
    if ((type == "upcoming" || type == "upcoming_meetings") && !start.empty() && start < iso_utc(c.now_ms) &&
        m.status != "started") {
      continue;
    }
    if (type == "previous_meetings" && m.n_ended == 0) continue;
    hits.push_back(&m);
  }
  std::sort(hits.begin(), hits.end(), [](const Meeting* a, const Meeting* b) {
    return std::make_pair(a->obj.get("start_time", "").asString(), a->id) <
           std::make_pair(b->obj.get("start_time", "").asString(), b->id);
  });
  Json::Value j(Json::objectValue);
  j["page_size"] = static_cast<Json::Int64>(page_size);
  j["total_records"] = static_cast<Json::UInt64>(hits.size());
  j["meetings"] = Json::Value(Json::arrayValue);
  for (size_t i = static_cast<size_t>(offset); i < hits.size() && i < static_cast<size_t>(offset + page_size); ++i) {
    const Meeting& m = *hits[i];
    Json::Value it(Json::objectValue);
    it["uuid"] = m.uuid;
    it["id"] = static_cast<Json::Int64>(m.id);
    it["host_id"] = m.host_id;
    it["topic"] = m.obj["topic"];
    it["type"] = m.obj["type"];
    if (m.obj.isMember("start_time")) it["start_time"] = m.obj["start_time"];
    if (m.obj.isMember("duration")) it["duration"] = m.obj["duration"];
    it["timezone"] = m.obj["timezone"];
    if (m.obj.isMember("agenda")) it["agenda"] = m.obj["agenda"];
    it["created_at"] = iso_utc(m.created_ms);
    it["join_url"] = join_url(c, m);
    j["meetings"].append(it);
  }
  const int64_t next = offset + page_size;
  j["next_page_token"] = next < static_cast<int64_t>(hits.size())
                             ? coach::crypto::base64url_encode("o:" + std::to_string(next))
                             : std::string();
  return json_reply(200, j);
}

/* ============================================================== web pages */

inline Reply html_page(int status, const std::string& title, const std::string& text) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  auto esc = [](const std::string& s) {
    std::string o;
    for (char ch : s) {
      switch (ch) {
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '&': o += "&amp;"; break;
        case '"': o += "&quot;"; break;
        default: o.push_back(ch);
      }
    }
    return o;
  };
  r.body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title></head><body><h1>" +
           esc(title) + "</h1><p>" + esc(text) + "</p></body></html>";
  return r;
}

/* GET /j/{id}?pwd=: the join link's landing page (pwd must match when the
 * meeting has a passcode). */
inline Reply handle_join_page(Call& c) {
  Meeting* m = nullptr;
  if (find_meeting(c, c.params[0], m)) return html_page(404, "Zoom emulator", "This meeting ID is not valid.");
  const std::string pwd = c.req.has_param("pwd") ? c.req.get_param_value("pwd") : "";
  if (!m->encrypted_password.empty() && pwd != m->encrypted_password) {
    return html_page(403, "Zoom emulator", "Enter the meeting passcode.");
  }
  return html_page(200, "Zoom emulator: join meeting " + std::to_string(m->id),
                   "Joining \"" + m->obj["topic"].asString() + "\" (status: " + m->status + ").");
}

/* GET /s/{id}?zak=: the host's start link; the ZAK lives 2 hours. */
inline Reply handle_start_page(Call& c) {
  Meeting* m = nullptr;
  if (find_meeting(c, c.params[0], m)) return html_page(404, "Zoom emulator", "This meeting ID is not valid.");
  const std::string zak = c.req.has_param("zak") ? c.req.get_param_value("zak") : "";
  auto it = m->zaks.find(zak);
  if (it == m->zaks.end() || it->second <= c.now_ms) {
    return html_page(401, "Zoom emulator", "The start link has expired; get a fresh start_url from the API.");
  }
  return html_page(200, "Zoom emulator: start meeting " + std::to_string(m->id),
                   "Host start page for \"" + m->obj["topic"].asString() + "\".");
}

}  // namespace zoom_emu
