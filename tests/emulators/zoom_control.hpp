/* zoom_control.hpp: the Zoom emulator's test-control API under /_emulator/
 * (not part of Zoom; client code must never call it): health, reset, state,
 * token expiry and TTL, granted scopes, users of the account, fault injection, the emulator clock,
 * live-meeting events (start, end, participants join/leave), URL validation,
 * the delivery log and extra webhook endpoints. Replies are plain JSON; bad
 * input gets 400 {"ok":false,"error":"..."}. Handlers run with State::mu held
 * except handle_control_validate, which sends HTTP. */
#pragma once
#include "zoom_api.hpp"

namespace zoom_emu {

inline Reply control_error(int status, const std::string& message) {
  Json::Value j(Json::objectValue);
  j["ok"] = false;
  j["error"] = message;
  return json_reply(status, j);
}

inline Json::Value ok_json() {
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  return j;
}

/* Parses a control body: empty -> {}, else a JSON object. */
inline std::optional<Reply> control_body(const Call& c, Json::Value& out) {
  bool blank = true;
  for (unsigned char ch : c.req.body) if (!std::isspace(ch)) blank = false;
  if (blank) { out = Json::Value(Json::objectValue); return std::nullopt; }
  auto parsed = coach::json::parse(c.req.body);
  if (!parsed || !parsed->isObject()) return control_error(400, "body must be a JSON object");
  out = *parsed;
  return std::nullopt;
}

/* GET /_emulator/health */
inline Reply handle_control_health(Call& c) {
  Json::Value j = ok_json();
  j["service"] = "zoom_emulator";
  j["base_url"] = c.base_url;
  return json_reply(200, j);
}

/* POST /_emulator/reset: meetings, tokens, deliveries, queue, faults,
 * counters, extra endpoints, clock, TTL and scopes back to the start-up
 * state; the primary endpoint must validate again. */
inline Reply handle_control_reset(Call& c) {
  reset_state(c.st, c.cfg);
  return json_reply(200, ok_json());
}

inline Json::Value endpoint_json(const Endpoint& e) {
  Json::Value j(Json::objectValue);
  j["id"] = e.id;
  j["url"] = e.url;
  j["primary"] = e.primary;
  j["events"] = Json::Value(Json::arrayValue);
  for (const auto& ev : e.events) j["events"].append(ev);
  j["validation"] = e.validation;
  j["validation_error"] = e.validation_error.empty() ? Json::Value() : Json::Value(e.validation_error);
  j["validated_at"] = e.validated_at_ms ? Json::Value(iso_utc(e.validated_at_ms)) : Json::Value();
  j["validation_attempts"] = e.n_validation_attempts;
  return j;
}

/* GET /_emulator/state: counters and a summary of the state. */
inline Reply handle_control_state(Call& c) {
  const Counters& n = c.st.counters;
  Json::Value j(Json::objectValue);
  Json::Value k(Json::objectValue);
  auto put = [&](const char* name, int64_t v) { k[name] = static_cast<Json::Int64>(v); };
  put("requests", n.n_requests);
  put("token_requests", n.n_token_requests);
  put("tokens_issued", n.n_tokens_issued);
  put("token_errors", n.n_token_errors);
  put("unauthorized_401", n.n_unauthorized);
  put("missing_scope_4711", n.n_missing_scope);
  put("validation_errors_300", n.n_validation_errors);
  put("not_found_404", n.n_not_found);
  put("faults_fired", n.n_faults_fired);
  put("connections_dropped", n.n_connections_dropped);
  put("throttled_429", n.n_throttled);
  put("meetings_created", n.n_meetings_created);
  put("meetings_updated", n.n_meetings_updated);
  put("meetings_deleted", n.n_meetings_deleted);
  put("deliveries_ok", n.n_deliveries_ok);
  put("deliveries_failed", n.n_deliveries_failed);
  put("events_given_up", n.n_events_given_up);
  put("validations_ok", n.n_validations_ok);
  put("validations_failed", n.n_validations_failed);
  j["counters"] = k;
  int64_t valid = 0;
  for (const auto& [t, rec] : c.st.tokens) if (rec.expires_ms > c.now_ms) ++valid;
  j["tokens"]["issued"] = static_cast<Json::Int64>(c.st.tokens.size());
  j["tokens"]["valid"] = static_cast<Json::Int64>(valid);
  j["token_ttl_s"] = static_cast<Json::Int64>(c.st.token_ttl_s);
  j["scopes"] = Json::Value(Json::arrayValue);
  for (const auto& s : c.st.scopes) j["scopes"].append(s);
  Json::Value by(Json::objectValue);
  by["waiting"] = 0;
  by["started"] = 0;
  by["deleted"] = 0;
  int64_t ended = 0;
  for (const auto& [id, m] : c.st.meetings) {
    const std::string s = m.deleted ? "deleted" : m.status;
    by[s] = by[s].asInt64() + 1;
    if (m.n_ended > 0) ++ended;
  }
  j["meetings"]["by_status"] = by;
  j["meetings"]["total"] = static_cast<Json::UInt64>(c.st.meetings.size());
  j["meetings"]["ended_at_least_once"] = static_cast<Json::Int64>(ended);
  j["webhook_endpoints"] = Json::Value(Json::arrayValue);
  for (const auto& e : c.st.endpoints) j["webhook_endpoints"].append(endpoint_json(e));
  j["validation"] = c.st.endpoints.empty() ? Json::Value("none") : Json::Value(c.st.endpoints.front().validation);
  j["queued_deliveries"] = static_cast<Json::UInt64>(c.st.queue.size());
  j["faults_pending"] = static_cast<Json::UInt64>(c.st.faults.size());
  j["clock_offset_s"] = static_cast<Json::Int64>(c.st.clock_offset_ms / 1000);
  j["now"] = iso_utc(c.now_ms);
  j["users"] = Json::Value(Json::arrayValue);
  for (const auto& u : c.st.users) {
    Json::Value uj(Json::objectValue);
    uj["id"] = u.id;
    uj["email"] = u.email;
    uj["owner"] = u.is_owner;
    j["users"].append(uj);
  }
  return json_reply(200, j);
}

/* POST /_emulator/expire-tokens: every current token becomes invalid (401
 * code 124 on its next use). */
inline Reply handle_control_expire_tokens(Call& c) {
  int64_t n = 0;
  for (auto& [t, rec] : c.st.tokens) {
    if (rec.expires_ms > c.now_ms) { rec.expires_ms = c.now_ms; ++n; }
  }
  Json::Value j = ok_json();
  j["expired"] = static_cast<Json::Int64>(n);
  return json_reply(200, j);
}

/* POST /_emulator/token-ttl {"ttl_s":N}: lifetime of tokens issued from now
 * on (1 s .. 1 day); {"ttl_s":null} restores the start-up value. */
inline Reply handle_control_token_ttl(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  int64_t ttl = 0;
  if (b["ttl_s"].isNull()) ttl = c.cfg.token_ttl_s;
  else if (!json_int(b["ttl_s"], ttl) || ttl < 1 || ttl > 86400) return control_error(400, "ttl_s must be 1..86400");
  c.st.token_ttl_s = ttl;
  Json::Value j = ok_json();
  j["ttl_s"] = static_cast<Json::Int64>(ttl);
  return json_reply(200, j);
}

/* POST /_emulator/users {"email":"coach@example.test"}: adds a user to the
 * account (a coach invited into the company's Zoom); the same e-mail again
 * returns the existing user. 200 {"ok":true,"id":...,"email":...}. */
inline Reply handle_control_add_user(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  const std::string email = b["email"].isString() ? b["email"].asString() : "";
  const auto at = email.find('@');
  if (email.size() > 128 || at == std::string::npos || at == 0 || at + 1 == email.size() ||
      email.find_first_of(" /?#") != std::string::npos)
    return control_error(400, "email must be an e-mail address");
  const User* u = find_user(c.st, email);
  if (!u) {
    c.st.users.push_back(make_user(email, false, c.st.users.size()));
    u = &c.st.users.back();
  }
  Json::Value j = ok_json();
  j["id"] = u->id;
  j["email"] = u->email;
  return json_reply(200, j);
}

/* POST /_emulator/scopes {"scopes":["meeting:read:meeting:admin", ...]}: the
 * scopes of tokens issued from now on; {"scopes":null} restores the flags'. */
inline Reply handle_control_scopes(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  std::set<std::string> scopes;
  if (b["scopes"].isNull()) {
    scopes = std::set<std::string>(c.cfg.scopes.begin(), c.cfg.scopes.end());
  } else if (!b["scopes"].isArray()) {
    return control_error(400, "scopes must be an array of strings or null");
  } else {
    for (const auto& s : b["scopes"]) {
      if (!s.isString() || s.asString().empty() || s.asString().find(' ') != std::string::npos) {
        return control_error(400, "scopes must be non-empty strings without spaces");
      }
      scopes.insert(s.asString());
    }
  }
  c.st.scopes = scopes;
  Json::Value j = ok_json();
  j["scopes"] = Json::Value(Json::arrayValue);
  for (const auto& s : scopes) j["scopes"].append(s);
  return json_reply(200, j);
}

/* POST /_emulator/clock {"offset_s":N} sets, {"advance_s":N} moves the
 * emulator clock relative to real time; GET reads it. */
inline Reply handle_control_clock(Call& c) {
  if (c.req.method == "POST") {
    Json::Value b;
    if (auto err = control_body(c, b)) return *err;
    int64_t v = 0;
    const int64_t limit = 10LL * 365 * 86400;
    if (b.isMember("offset_s")) {
      if (!json_int(b["offset_s"], v) || v < -limit || v > limit) return control_error(400, "offset_s must be an integer");
      c.st.clock_offset_ms = v * 1000;
    } else if (b.isMember("advance_s")) {
      if (!json_int(b["advance_s"], v) || v < -limit || v > limit) return control_error(400, "advance_s must be an integer");
      c.st.clock_offset_ms += v * 1000;
    } else {
      return control_error(400, "give offset_s or advance_s");
    }
    c.now_ms = emu_now_ms(c.st);
  }
  Json::Value j = ok_json();
  j["offset_s"] = static_cast<Json::Int64>(c.st.clock_offset_ms / 1000);
  j["now"] = iso_utc(c.now_ms);
  j["now_ms"] = static_cast<Json::Int64>(c.now_ms);
  return json_reply(200, j);
}

/* ----------------------------------------------------------------- faults */

inline Json::Value fault_json(const Fault& f) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(f.id);
  j["path_prefix"] = f.path_prefix;
  j["method"] = f.method.empty() ? Json::Value() : Json::Value(f.method);
  j["status"] = f.status;
  j["action"] = f.drop ? "drop" : f.status ? "status" : "delay";
  j["count"] = f.remaining;
  j["delay_ms"] = static_cast<Json::Int64>(f.delay_ms);
  return j;
}

/* The reply a status fault gives, in the error shape of the path. */
inline Reply fault_reply(const Fault& f, const std::string& path) {
  Reply r;
  if (starts_with(path, "/oauth/")) {
    r = oauth_error(f.status, f.status == 429 ? "rate_limited" : "server_error",
                    "Emulated fault: HTTP " + std::to_string(f.status));
  } else if (f.status == 429) {
    r = zoom_error(429, 429, "You have reached the maximum per-second rate limit for this API. Try again later.");
    r.headers.emplace_back("X-RateLimit-Category", "Medium");
    r.headers.emplace_back("X-RateLimit-Type", "QPS");
  } else {
    r = zoom_error(f.status, f.status, "Emulated fault: HTTP " + std::to_string(f.status) +
                                           " injected through /_emulator/faults");
  }
  if (f.retry_after_s >= 0) r.headers.emplace_back("Retry-After", std::to_string(f.retry_after_s));
  return r;
}

/* POST /_emulator/faults {"path_prefix":"/v2/meetings","method":"GET",
 * "status":503 | "action":"drop","count":1,"delay_ms":0,"retry_after_s":2}.
 * The next `count` matching requests (not /_emulator/) wait delay_ms, then
 * answer `status` or lose the connection. */
inline Reply handle_control_add_fault(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  Fault f;
  if (!b["path_prefix"].isString() || !starts_with(b["path_prefix"].asString(), "/")) {
    return control_error(400, "path_prefix must be a string starting with /");
  }
  f.path_prefix = b["path_prefix"].asString();
  if (!b["method"].isNull()) {
    if (!b["method"].isString()) return control_error(400, "method must be a string");
    f.method = b["method"].asString();
    for (auto& ch : f.method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  int64_t v = 0;
  if (!b["action"].isNull()) {
    if (b["action"] != "drop" && b["action"] != "status") return control_error(400, "action must be \"drop\" or \"status\"");
    f.drop = b["action"] == "drop";
  }
  if (!b["status"].isNull()) {
    if (!json_int(b["status"], v) || v < 400 || v > 599) return control_error(400, "status must be 400-599");
    f.status = static_cast<int>(v);
  }
  if (!b["count"].isNull()) {
    if (!json_int(b["count"], v) || v < 1 || v > 1000000) return control_error(400, "count must be >= 1");
    f.remaining = static_cast<int>(v);
  }
  if (!b["delay_ms"].isNull()) {
    if (!json_int(b["delay_ms"], v) || v < 0 || v > 60000) return control_error(400, "delay_ms must be 0-60000");
    f.delay_ms = v;
  }
  if (!b["retry_after_s"].isNull()) {
    if (!json_int(b["retry_after_s"], v) || v < 0 || v > 3600) return control_error(400, "retry_after_s must be 0-3600");
    f.retry_after_s = static_cast<int>(v);
  }
  if (f.drop && f.status) return control_error(400, "give either status or action \"drop\"");
  if (!f.drop && f.status == 0 && f.delay_ms == 0) return control_error(400, "give status (400-599), action \"drop\" or delay_ms");
  f.id = c.st.next_fault_id++;
  c.st.faults.push_back(f);
  Json::Value j = ok_json();
  j["fault"] = fault_json(f);
  return json_reply(200, j);
}

inline Reply handle_control_list_faults(Call& c) {
  Json::Value j(Json::objectValue);
  j["faults"] = Json::Value(Json::arrayValue);
  for (const auto& f : c.st.faults) j["faults"].append(fault_json(f));
  return json_reply(200, j);
}

inline Reply handle_control_clear_faults(Call& c) {
  Json::Value j = ok_json();
  j["cleared"] = static_cast<Json::UInt64>(c.st.faults.size());
  c.st.faults.clear();
  return json_reply(200, j);
}

/* --------------------------------------------------------- live meetings */

inline std::optional<Reply> control_meeting(Call& c, Meeting*& m) {
  int64_t id = 0;
  if (parse_int64(c.params[0], id)) {
    auto it = c.st.meetings.find(id);
    if (it != c.st.meetings.end() && !it->second.deleted) { m = &it->second; return std::nullopt; }
  }
  return control_error(404, "no such meeting: " + c.params[0]);
}

/* The object of meeting.started/ended/participant_*: string id, the
 * instance uuid, the actual start time. */
inline Json::Value live_object(const Meeting& m) {
  Json::Value o = event_meeting_object(m, true);
  o["start_time"] = iso_utc(m.started_ms);
  return o;
}

inline Json::Value participant_json(const Participant& p) {
  Json::Value j(Json::objectValue);
  j["user_id"] = p.user_id;
  j["user_name"] = p.user_name;
  j["id"] = p.id;
  j["participant_uuid"] = p.participant_uuid;
  j["join_time"] = iso_utc(p.join_ms);
  j["email"] = p.email;
  j["registrant_id"] = "";
  j["participant_user_id"] = p.participant_user_id;
  j["customer_key"] = "";
  j["phone_number"] = "";
  return j;
}

/* Emits meeting.participant_left for p. Precondition: st.mu held. */
inline void emit_left(Call& c, const Meeting& m, const Participant& p, const std::string& reason) {
  Json::Value part = participant_json(p);
  part["leave_time"] = iso_utc(c.now_ms);
  part["leave_reason"] = reason;
  Json::Value payload(Json::objectValue);
  payload["account_id"] = c.cfg.account_id;
  payload["object"] = live_object(m);
  payload["object"]["participant"] = part;
  enqueue_event(c, "meeting.participant_left", payload);
}

/* POST /_emulator/meetings/{id}/start: the host starts the meeting
 * (meeting.started; a restart after an end is a new instance uuid). */
inline Reply handle_control_start(Call& c) {
  Meeting* m = nullptr;
  if (auto err = control_meeting(c, m)) return *err;
  if (m->status == "started") return control_error(409, "meeting is already started");
  if (m->n_ended > 0) m->instance_uuid = random_meeting_uuid();
  m->status = "started";
  m->started_ms = c.now_ms;
  Json::Value payload(Json::objectValue);
  payload["account_id"] = c.cfg.account_id;
  payload["object"] = live_object(*m);
  enqueue_event(c, "meeting.started", payload);
  Json::Value j = ok_json();
  j["uuid"] = m->instance_uuid;
  j["start_time"] = iso_utc(m->started_ms);
  return json_reply(200, j);
}

/* POST /_emulator/meetings/{id}/end: everyone still in leaves ("Host ended
 * the meeting"), then meeting.ended; the meeting is "waiting" again. */
inline Reply handle_control_end(Call& c) {
  Meeting* m = nullptr;
  if (auto err = control_meeting(c, m)) return *err;
  if (m->status != "started") return control_error(409, "meeting is not started");
  for (const auto& p : m->present) emit_left(c, *m, p, "left the meeting. Reason : Host ended the meeting");
  m->present.clear();
  Json::Value payload(Json::objectValue);
  payload["account_id"] = c.cfg.account_id;
  payload["object"] = live_object(*m);
  payload["object"]["end_time"] = iso_utc(c.now_ms);
  enqueue_event(c, "meeting.ended", payload);
  m->status = "waiting";
  m->n_ended++;
  Json::Value j = ok_json();
  j["uuid"] = m->instance_uuid;
  j["end_time"] = iso_utc(c.now_ms);
  return json_reply(200, j);
}

/* POST /_emulator/meetings/{id}/participants {"action":"join"|"leave",
 * "user_name","email","participant_user_id"?, "user_id"? (leave: which
 * one), "leave_reason"?}. The meeting must be started. A join whose e-mail
 * is a user of the account carries that user's id (the host's for the host). */
inline Reply handle_control_participants(Call& c) {
  Meeting* m = nullptr;
  if (auto err = control_meeting(c, m)) return *err;
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  const std::string action = b["action"].isString() ? b["action"].asString() : "";
  if (action != "join" && action != "leave") return control_error(400, "action must be \"join\" or \"leave\"");
  for (const char* k : {"user_name", "email", "participant_user_id", "user_id", "leave_reason"}) {
    if (!b[k].isNull() && !b[k].isString()) return control_error(400, std::string(k) + " must be a string");
  }
  if (m->status != "started") return control_error(409, "meeting is not started");
  const std::string name = b["user_name"].asString(), email = b["email"].asString();
  if (action == "join") {
    if (name.empty()) return control_error(400, "user_name is required");
    Participant p;
    p.user_id = std::to_string(m->next_participant++);
    p.user_name = name;
    p.email = email;
    const User* u = email.empty() ? nullptr : find_user(c.st, email);
    p.id = u ? u->id : "";
    p.participant_uuid = random_user_id();
    p.participant_user_id = !b["participant_user_id"].isNull() ? b["participant_user_id"].asString()
                            : u                                 ? u->id
                                                                : "";
    p.join_ms = c.now_ms;
    m->present.push_back(p);
    Json::Value payload(Json::objectValue);
    payload["account_id"] = c.cfg.account_id;
    payload["object"] = live_object(*m);
    payload["object"]["participant"] = participant_json(p);
    enqueue_event(c, "meeting.participant_joined", payload);
    Json::Value j = ok_json();
    j["participant"] = participant_json(p);
    return json_reply(200, j);
  }
  auto it = std::find_if(m->present.begin(), m->present.end(), [&](const Participant& p) {
    if (!b["user_id"].isNull()) return p.user_id == b["user_id"].asString();
    if (!b["participant_user_id"].isNull()) return p.participant_user_id == b["participant_user_id"].asString();
    if (!email.empty()) return to_lower(p.email) == to_lower(email);
    return !name.empty() && p.user_name == name;
  });
  if (it == m->present.end()) return control_error(409, "no such participant in the meeting");
  Participant p = *it;
  m->present.erase(it);
  const std::string reason = b["leave_reason"].isNull() ? "left the meeting. Reason : left the meeting"
                                                        : b["leave_reason"].asString();
  emit_left(c, *m, p, reason);
  Json::Value j = ok_json();
  j["participant"] = participant_json(p);
  return json_reply(200, j);
}

/* ------------------------------------------------------------- webhooks */

inline Json::Value delivery_json(const Delivery& d) {
  Json::Value j(Json::objectValue);
  j["seq"] = static_cast<Json::Int64>(d.seq);
  j["event_seq"] = static_cast<Json::Int64>(d.event_seq);
  j["kind"] = d.kind;
  j["event"] = d.event;
  j["endpoint_id"] = d.endpoint_id;
  j["url"] = d.url;
  j["attempt"] = d.attempt;
  j["headers"] = Json::Value(Json::objectValue);
  for (const auto& [k, v] : d.headers) j["headers"][k] = v;
  j["body"] = d.body;
  j["status"] = d.status ? Json::Value(d.status) : Json::Value();
  j["response_body"] = d.response_body;
  j["outcome"] = d.outcome;
  j["error"] = d.error.empty() ? Json::Value() : Json::Value(d.error);
  j["at"] = iso_utc(d.at_ms);
  j["duration_ms"] = static_cast<Json::Int64>(d.duration_ms);
  return j;
}

/* GET /_emulator/deliveries[?event=&kind=&endpoint_id=&since_seq=]: every
 * attempt (oldest first), with the exact headers and body sent. */
inline Reply handle_control_deliveries(Call& c) {
  auto q = [&](const char* k) { return c.req.has_param(k) ? c.req.get_param_value(k) : std::string(); };
  int64_t since = 0;
  if (!q("since_seq").empty() && !parse_int64(q("since_seq"), since)) return control_error(400, "since_seq must be an integer");
  Json::Value j(Json::objectValue);
  j["deliveries"] = Json::Value(Json::arrayValue);
  for (const auto& d : c.st.deliveries) {
    if (d.seq <= since) continue;
    if (!q("event").empty() && d.event != q("event")) continue;
    if (!q("kind").empty() && d.kind != q("kind")) continue;
    if (!q("endpoint_id").empty() && d.endpoint_id != q("endpoint_id")) continue;
    j["deliveries"].append(delivery_json(d));
  }
  j["last_seq"] = static_cast<Json::Int64>(c.st.next_delivery_seq - 1);
  j["queued"] = static_cast<Json::UInt64>(c.st.queue.size());
  return json_reply(200, j);
}

inline Reply handle_control_clear_deliveries(Call& c) {
  Json::Value j = ok_json();
  j["cleared"] = static_cast<Json::UInt64>(c.st.deliveries.size());
  c.st.deliveries.clear();
  return json_reply(200, j);
}

inline Reply handle_control_list_endpoints(Call& c) {
  Json::Value j(Json::objectValue);
  j["endpoints"] = Json::Value(Json::arrayValue);
  for (const auto& e : c.st.endpoints) j["endpoints"].append(endpoint_json(e));
  return json_reply(200, j);
}

/* POST /_emulator/webhook-endpoints {"url","secret","events"?:[...]}: adds
 * an endpoint (all events when none are named); it validates lazily like the
 * primary one. */
inline Reply handle_control_add_endpoint(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  if (!b["url"].isString() || !is_http_url(b["url"].asString())) return control_error(400, "url must be an http(s) URL");
  if (!b["secret"].isString() || b["secret"].asString().empty()) return control_error(400, "secret must be a non-empty string");
  Endpoint e;
  e.url = b["url"].asString();
  e.secret = b["secret"].asString();
  if (b["events"].isNull()) {
    e.events = std::set<std::string>(all_events().begin(), all_events().end());
  } else if (!b["events"].isArray()) {
    return control_error(400, "events must be an array");
  } else {
    for (const auto& ev : b["events"]) {
      if (!ev.isString() || std::find(all_events().begin(), all_events().end(), ev.asString()) == all_events().end()) {
        return control_error(400, "unknown event in events");
      }
      e.events.insert(ev.asString());
    }
  }
  e.id = "ep_" + std::to_string(c.st.next_endpoint++);
  c.st.endpoints.push_back(e);
  Json::Value j = ok_json();
  j["endpoint"] = endpoint_json(e);
  return json_reply(201, j);
}

/* DELETE /_emulator/webhook-endpoints/{id}: removes it and its queued events. */
inline Reply handle_control_remove_endpoint(Call& c) {
  const std::string id = c.params[0];
  auto it = std::find_if(c.st.endpoints.begin(), c.st.endpoints.end(), [&](const Endpoint& e) { return e.id == id; });
  if (it == c.st.endpoints.end()) return control_error(404, "no such endpoint: " + id);
  c.st.endpoints.erase(it);
  c.st.queue.erase(std::remove_if(c.st.queue.begin(), c.st.queue.end(),
                                  [&](const QueuedEvent& q) { return q.endpoint_id == id; }),
                   c.st.queue.end());
  return json_reply(200, ok_json());
}

/* POST /_emulator/webhook/validate {"endpoint_id"?}: runs URL validation now
 * (the primary endpoint by default) and answers with the outcome. Runs
 * WITHOUT the state lock (it sends HTTP). */
inline Reply handle_control_validate(Call& c) {
  Json::Value b;
  std::string id;
  {
    std::lock_guard<std::mutex> lock(c.st.mu);
    if (auto err = control_body(c, b)) return *err;
    if (!b["endpoint_id"].isNull() && !b["endpoint_id"].isString()) return control_error(400, "endpoint_id must be a string");
    if (b["endpoint_id"].isString()) id = b["endpoint_id"].asString();
    else if (!c.st.endpoints.empty()) id = c.st.endpoints.front().id;
    if (id.empty() || !find_endpoint(c.st, id)) return control_error(404, "no such webhook endpoint");
  }
  ValidationResult vr = validate_endpoint(c.st, c.cfg, id);
  if (!vr.found) return control_error(404, "no such webhook endpoint");
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["endpoint_id"] = id;
  j["validated"] = vr.ok;
  j["status"] = vr.status ? Json::Value(vr.status) : Json::Value();
  j["error"] = vr.error.empty() ? Json::Value() : Json::Value(vr.error);
  j["delivery_seq"] = static_cast<Json::Int64>(vr.delivery_seq);
  {
    std::lock_guard<std::mutex> lock(c.st.mu);
    c.st.cv.notify_all();  // queued events for a now-valid endpoint can go
  }
  return json_reply(200, j);
}

}  // namespace zoom_emu
