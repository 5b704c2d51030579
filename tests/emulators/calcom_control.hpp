/* calcom_control.hpp: the emulator's test-control API under /_emulator/ (not
 * part of Cal.com): reset, fault injection, forced token expiry, the emulator
 * clock, connecting conferencing apps, a state dump and a health check. Replies are plain JSON, not Cal.com envelopes. */
#pragma once
#include "calcom_bookings.hpp"

namespace calcom_emu {

inline Reply control_json(int status, const Json::Value& j) {
  Reply r;
  r.status = status;
  r.body = json_dump(j);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline Reply control_error(const std::string& message) {
  Json::Value j(Json::objectValue);
  j["ok"] = false;
  j["error"] = message;
  return control_json(400, j);
}

inline Json::Value fault_json(const Fault& f) {
  Json::Value j(Json::objectValue);
  j["id"] = static_cast<Json::Int64>(f.id);
  j["path_prefix"] = f.path_prefix;
  j["method"] = f.method.empty() ? Json::Value::null : Json::Value(f.method);
  j["status"] = f.status;
  j["count"] = f.remaining;
  j["delay_ms"] = static_cast<Json::Int64>(f.delay_ms);
  return j;
}

/* Takes one use of the first pending fault matching the request, if any.
 * Precondition: st.mu held. */
inline std::optional<Fault> take_fault(State& st, const std::string& method, const std::string& path) {
  for (auto it = st.faults.begin(); it != st.faults.end(); ++it) {
    if (!starts_with(path, it->path_prefix)) continue;
    if (!it->method.empty() && it->method != method && !(it->method == "GET" && method == "HEAD")) {
      continue;
    }
    Fault f = *it;
    if (--it->remaining <= 0) st.faults.erase(it);
    st.counters.n_faults_fired++;
    return f;
  }
  return std::nullopt;
}

/* POST /_emulator/reset: back to the start-up state. */
inline Reply handle_control_reset(Call& c) {
  reset_state(c.st, c.cfg);
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  return control_json(200, j);
}

/* POST /_emulator/faults {"path_prefix":"/v2/me","method":"GET","status":503,
 * "count":1,"delay_ms":0}. status 0 (or absent) with delay_ms > 0: delay only. */
inline Reply handle_control_add_fault(Call& c) {
  Json::Value parsed;
  std::string err;
  if (!json_parse(c.req.body.empty() ? "{}" : c.req.body, parsed, err) || !parsed.isObject()) {
    return control_error("body must be a JSON object");
  }
  const Json::Value& b = parsed;
  Fault f;
  if (!b["path_prefix"].isString() || !starts_with(b["path_prefix"].asString(), "/")) {
    return control_error("path_prefix must be a string starting with /");
  }
  f.path_prefix = b["path_prefix"].asString();
  if (b.isMember("method") && !b["method"].isNull()) {
    if (!b["method"].isString()) return control_error("method must be a string");
    f.method = b["method"].asString();
    for (auto& ch : f.method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  int64_t v = 0;
  if (b.isMember("status")) {
    if (!json_as_int64(b["status"], v) || !(v == 0 || (v >= 400 && v <= 599))) {
      return control_error("status must be 0 or 400-599");
    }
    f.status = static_cast<int>(v);
  }
  if (b.isMember("count")) {
    if (!json_as_int64(b["count"], v) || v < 1 || v > 1000000) return control_error("count must be >= 1");
    f.remaining = static_cast<int>(v);
  }
  if (b.isMember("delay_ms")) {
    if (!json_as_int64(b["delay_ms"], v) || v < 0 || v > 600000) {
      return control_error("delay_ms must be 0-600000");
    }
    f.delay_ms = v;
  }
  if (f.status == 0 && f.delay_ms == 0) return control_error("set status (400-599) or delay_ms (> 0)");
  f.id = c.st.next_fault_id++;
  c.st.faults.push_back(f);
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["fault"] = fault_json(f);
  return control_json(200, j);
}

/* GET /_emulator/faults: the pending faults. */
inline Reply handle_control_list_faults(Call& c) {
  Json::Value j(Json::objectValue);
  j["faults"] = Json::Value(Json::arrayValue);
  for (const auto& f : c.st.faults) j["faults"].append(fault_json(f));
  return control_json(200, j);
}

/* DELETE /_emulator/faults: drops every pending fault. */
inline Reply handle_control_clear_faults(Call& c) {
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["cleared"] = static_cast<Json::UInt64>(c.st.faults.size());
  c.st.faults.clear();
  return control_json(200, j);
}

/* POST /_emulator/expire-access-tokens {"userId":N, "refresh":false}: makes the
 * current access tokens (of that user, or everyone's when userId is absent)
 * expired, so the next use answers 498; with "refresh":true the refresh tokens
 * expire too (refresh then fails with 400). */
inline Reply handle_control_expire_tokens(Call& c) {
  Json::Value parsed;
  std::string err;
  if (!json_parse(c.req.body.empty() ? "{}" : c.req.body, parsed, err) || !parsed.isObject()) {
    return control_error("body must be a JSON object");
  }
  const Json::Value& b = parsed;
  std::optional<int64_t> user_id;
  if (b.isMember("userId") && !b["userId"].isNull()) {
    int64_t v = 0;
    if (!json_as_int64(b["userId"], v)) return control_error("userId must be an integer");
    user_id = v;
  }
  bool include_refresh = b.get("refresh", false).asBool();
  int64_t n = 0;
  for (auto& [token, rec] : c.st.tokens) {
    if (user_id && rec.user_id != *user_id) continue;
    if (rec.kind == TokenKind::refresh && !include_refresh) continue;
    if (rec.expires_at_ms >= c.now_ms) rec.expires_at_ms = c.now_ms - 1000;
    ++n;
  }
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["expired"] = static_cast<Json::Int64>(n);
  return control_json(200, j);
}

/* GET /_emulator/state: users with token counts, schedules, counters, faults. */
inline Reply handle_control_state(Call& c) {
  Json::Value j(Json::objectValue);
  j["nowMs"] = static_cast<Json::Int64>(c.now_ms);
  Json::Value client(Json::objectValue);
  client["clientId"] = c.cfg.client_id;
  client["organizationId"] =
      c.cfg.has_organization ? Json::Value(static_cast<Json::Int64>(c.cfg.organization_id)) : Json::Value::null;
  client["redirectUris"] = Json::Value(Json::arrayValue);
  for (const auto& u : c.cfg.redirect_uris) client["redirectUris"].append(u);
  client["accessTtlS"] = static_cast<Json::Int64>(c.cfg.access_ttl_s);
  client["refreshTtlS"] = static_cast<Json::Int64>(c.cfg.refresh_ttl_s);
  client["oauth2ClientId"] = c.cfg.oauth2_client_id;
  j["client"] = client;

  j["users"] = Json::Value(Json::arrayValue);
  for (const auto& [id, u] : c.st.users) {
    Json::Value uj = managed_user_json(u);
    uj["managed"] = u.is_platform_managed;
    uj["platformOwner"] = u.is_platform_owner;
    uj["oAuthClientId"] = u.oauth_client_id.empty() ? Json::Value::null : Json::Value(u.oauth_client_id);
    Json::Value t(Json::objectValue);
    int n_access = 0, n_access_expired = 0, n_refresh = 0, n_refresh_expired = 0;
    for (const auto& [tok, rec] : c.st.tokens) {
      if (rec.user_id != id) continue;
      bool expired = c.now_ms > rec.expires_at_ms;
      if (rec.kind == TokenKind::access) (expired ? n_access_expired : n_access)++;
      else (expired ? n_refresh_expired : n_refresh)++;
    }
    int n_retired = 0;
    for (const auto& [tok, r] : c.st.retired_refresh) if (r.user_id == id) ++n_retired;
    t["accessActive"] = n_access;
    t["accessExpired"] = n_access_expired;
    t["refreshActive"] = n_refresh;
    t["refreshExpired"] = n_refresh_expired;
    t["refreshRetired"] = n_retired;
    uj["tokens"] = t;
    uj["connectedApps"] = Json::Value(Json::arrayValue);
    for (const auto& a : u.connected_apps) uj["connectedApps"].append(a);
    uj["refreshSuccesses"] = u.n_refresh_ok;
    uj["forceRefreshes"] = u.n_force_refresh;
    j["users"].append(uj);
  }

  j["schedules"] = Json::Value(Json::arrayValue);
  for (const auto& [id, s] : c.st.schedules) {
    Json::Value sj(Json::objectValue);
    sj["id"] = static_cast<Json::Int64>(s.id);
    sj["ownerId"] = static_cast<Json::Int64>(s.owner_id);
    sj["name"] = s.name;
    sj["timeZone"] = s.time_zone;
    sj["isDefault"] = schedule_is_default(c.st, s);
    j["schedules"].append(sj);
  }

  j["eventTypes"] = Json::Value(Json::arrayValue);
  for (const auto& [id, et] : c.st.event_types) {
    Json::Value ej(Json::objectValue);
    ej["id"] = static_cast<Json::Int64>(et.id);
    ej["ownerId"] = static_cast<Json::Int64>(et.owner_id);
    ej["slug"] = et_get(et, "slug");
    ej["lengthInMinutes"] = et_get(et, "lengthInMinutes");
    ej["scheduleId"] = et_get(et, "scheduleId");
    j["eventTypes"].append(ej);
  }

  j["bookings"] = Json::Value(Json::arrayValue);
  Json::Value by_status(Json::objectValue);
  for (const auto& [id, b] : c.st.bookings) {
    Json::Value bj(Json::objectValue);
    bj["id"] = static_cast<Json::Int64>(b.id);
    bj["uid"] = b.uid;
    bj["status"] = b.status;
    bj["hostId"] = static_cast<Json::Int64>(b.host_id);
    bj["eventTypeId"] = static_cast<Json::Int64>(b.event_type_id);
    bj["start"] = iso_utc_ms(b.start_ms);
    bj["end"] = iso_utc_ms(b.end_ms);
    bj["rescheduled"] = b.rescheduled;
    j["bookings"].append(bj);
    by_status[b.status] = by_status.get(b.status, 0).asInt() + 1;
  }

  j["reservations"] = Json::Value(Json::arrayValue);
  int n_active_reservations = 0;
  for (const auto& [uid, r] : c.st.reservations) {
    Json::Value rj = reservation_json(r);
    rj["hostId"] = static_cast<Json::Int64>(r.host_id);
    rj["active"] = r.until_ms > c.now_ms;
    if (r.until_ms > c.now_ms) ++n_active_reservations;
    j["reservations"].append(rj);
  }

  Json::Value counts(Json::objectValue);
  counts["users"] = static_cast<Json::UInt64>(c.st.users.size());
  counts["schedules"] = static_cast<Json::UInt64>(c.st.schedules.size());
  counts["eventTypes"] = static_cast<Json::UInt64>(c.st.event_types.size());
  counts["bookings"] = static_cast<Json::UInt64>(c.st.bookings.size());
  counts["bookingsByStatus"] = by_status;
  counts["reservations"] = static_cast<Json::UInt64>(c.st.reservations.size());
  counts["activeReservations"] = n_active_reservations;
  j["counts"] = counts;

  Json::Value clock(Json::objectValue);
  clock["nowMs"] = static_cast<Json::Int64>(c.now_ms);
  clock["now"] = iso_utc_ms(c.now_ms);
  clock["offsetMs"] = static_cast<Json::Int64>(c.st.clock_offset_ms);
  clock["frozen"] = c.st.clock_frozen;
  j["clock"] = clock;

  const Counters& k = c.st.counters;
  Json::Value cj(Json::objectValue);
  cj["requests"] = static_cast<Json::Int64>(k.n_requests);
  cj["refreshCalls"] = static_cast<Json::Int64>(k.n_refresh_calls);
  cj["refreshSuccesses"] = static_cast<Json::Int64>(k.n_refresh_ok);
  cj["refreshReuseRejections"] = static_cast<Json::Int64>(k.n_refresh_reuse_rejections);
  cj["refreshInvalidRejections"] = static_cast<Json::Int64>(k.n_refresh_invalid_rejections);
  cj["forceRefreshes"] = static_cast<Json::Int64>(k.n_force_refresh);
  cj["expiredTokenRejections"] = static_cast<Json::Int64>(k.n_expired_token_rejections);
  cj["invalidTokenRejections"] = static_cast<Json::Int64>(k.n_invalid_token_rejections);
  cj["oauth2TokenCalls"] = static_cast<Json::Int64>(k.n_oauth2_token_calls);
  cj["oauth2CodeExchanges"] = static_cast<Json::Int64>(k.n_oauth2_code_exchanges);
  cj["oauth2RefreshSuccesses"] = static_cast<Json::Int64>(k.n_oauth2_refresh_ok);
  cj["oauth2RefreshReuseRejections"] = static_cast<Json::Int64>(k.n_oauth2_refresh_reuse_rejections);
  cj["oauth2Errors"] = static_cast<Json::Int64>(k.n_oauth2_errors);
  cj["faultsFired"] = static_cast<Json::Int64>(k.n_faults_fired);
  cj["throttled"] = static_cast<Json::Int64>(k.n_throttled);
  cj["slotQueries"] = static_cast<Json::Int64>(k.n_slot_queries);
  cj["bookingsCreated"] = static_cast<Json::Int64>(k.n_bookings_created);
  cj["bookingsRescheduled"] = static_cast<Json::Int64>(k.n_bookings_rescheduled);
  cj["bookingsCancelled"] = static_cast<Json::Int64>(k.n_bookings_cancelled);
  cj["bookingConflicts"] = static_cast<Json::Int64>(k.n_booking_conflicts);
  cj["reservationConflicts"] = static_cast<Json::Int64>(k.n_reservation_conflicts);
  cj["apiVersionRejections"] = static_cast<Json::Int64>(k.n_api_version_rejections);
  cj["pendingAuthCodes"] = static_cast<Json::UInt64>(c.st.auth_codes.size());
  j["counters"] = cj;

  j["faults"] = Json::Value(Json::arrayValue);
  for (const auto& f : c.st.faults) j["faults"].append(fault_json(f));
  return control_json(200, j);
}

/* Parses a control body: empty -> {}, else a JSON object. */
inline std::optional<Reply> control_body(const Call& c, Json::Value& out) {
  std::string err;
  if (!json_parse(c.req.body.empty() ? "{}" : c.req.body, out, err) || !out.isObject()) {
    return control_error("body must be a JSON object");
  }
  return std::nullopt;
}

/* POST /_emulator/clock: moves the emulator's clock (what tokens, minimum
 * notice, reservations and createdAt see).
 *   {"nowMs": N}        the clock reads N now and runs on from there
 *   {"offsetMs": N}     the clock runs N ms ahead of real time (negative: behind)
 *   {"advanceMs": N}    moves the clock by N ms from where it is
 *   {"frozen": true}    (with any of the above, or alone) stops it; false restarts it
 *   {"reset": true}     back to real time
 * Answers {ok, nowMs, now, offsetMs, frozen}. /_emulator/reset also resets it. */
inline Reply handle_control_clock(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  int64_t v = 0;
  int n_set = 0;
  for (const char* k : {"nowMs", "offsetMs", "advanceMs"}) if (b.isMember(k)) ++n_set;
  if (n_set > 1) return control_error("give at most one of nowMs, offsetMs, advanceMs");
  if (b.isMember("frozen") && !b["frozen"].isBool()) return control_error("frozen must be a boolean");
  if (b.isMember("reset") && !b["reset"].isBool()) return control_error("reset must be a boolean");
  const int64_t real = now_ms();
  const int64_t current = emulator_now(c.st);
  int64_t target = current;
  if (b.get("reset", false).asBool()) {
    target = real;
    c.st.clock_frozen = false;
  }
  if (b.isMember("nowMs")) {
    if (!json_as_int64(b["nowMs"], v) || v < 0) return control_error("nowMs must be a non-negative integer");
    target = v;
  } else if (b.isMember("offsetMs")) {
    if (!json_as_int64(b["offsetMs"], v)) return control_error("offsetMs must be an integer");
    target = real + v;
  } else if (b.isMember("advanceMs")) {
    if (!json_as_int64(b["advanceMs"], v)) return control_error("advanceMs must be an integer");
    target = current + v;
  }
  const bool frozen = b.isMember("frozen") ? b["frozen"].asBool() : c.st.clock_frozen;
  c.st.clock_frozen = frozen;
  c.st.clock_frozen_ms = target;
  c.st.clock_offset_ms = target - real;
  c.now_ms = emulator_now(c.st);
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["nowMs"] = static_cast<Json::Int64>(c.now_ms);
  j["now"] = iso_utc_ms(c.now_ms);
  j["offsetMs"] = static_cast<Json::Int64>(c.st.clock_offset_ms);
  j["frozen"] = c.st.clock_frozen;
  return control_json(200, j);
}

/* POST /_emulator/connect-app {"userId":N,"app":"zoom","connected":true}:
 * marks a conferencing app connected (or disconnected) for the user, which
 * is what an integration location on an event type requires. */
inline Reply handle_control_connect_app(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  int64_t user_id = 0;
  if (!json_as_int64(b["userId"], user_id)) return control_error("userId must be an integer");
  auto it = c.st.users.find(user_id);
  if (it == c.st.users.end()) return control_error("no user with id " + std::to_string(user_id));
  const auto& apps = location_integrations();
  if (!b["app"].isString() || std::find(apps.begin(), apps.end(), b["app"].asString()) == apps.end()) {
    return control_error("app must be one of: " + join(apps, ", "));
  }
  if (b.isMember("connected") && !b["connected"].isBool()) return control_error("connected must be a boolean");
  const std::string app = b["app"].asString();
  if (b.get("connected", true).asBool()) it->second.connected_apps.insert(app);
  else it->second.connected_apps.erase(app);
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["userId"] = static_cast<Json::Int64>(user_id);
  j["connectedApps"] = Json::Value(Json::arrayValue);
  for (const auto& a : it->second.connected_apps) j["connectedApps"].append(a);
  return control_json(200, j);
}

/* GET /_emulator/health. */
inline Reply handle_control_health(Call&) {
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  return control_json(200, j);
}

}  // namespace calcom_emu
