/* calcom_control.hpp: the emulator's test-control API under /_emulator/ (not
 * part of Cal.com): reset, fault injection, forced token expiry, the emulator
 * clock, connecting conferencing apps, webhook fault modes, the webhook
 * delivery log (with byte-for-byte redelivery) and PING, a state dump and a
 * health check. Replies are plain JSON, not Cal.com envelopes. */
#pragma once
#include <thread>

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

/* Parses a control body: empty -> {}, else a JSON object. */
inline std::optional<Reply> control_body(const Call& c, Json::Value& out) {
  std::string err;
  if (!json_parse(c.req.body.empty() ? "{}" : c.req.body, out, err) || !out.isObject()) {
    return control_error("body must be a JSON object");
  }
  return std::nullopt;
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

/* POST /_emulator/reset: back to the start-up state. Webhook deliveries
 * built before it are not sent (held, delayed, queued and scheduled ones are
 * dropped) and the reply waits (up to 6 s) for sends already in progress, so
 * no delivery of before the reset reaches a subscriber after it. */
inline Reply handle_control_reset(Call& c) {
  reset_state(c.st, c.cfg);
  State* st = &c.st;
  c.deferred.push_back([st] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
    while (st->webhook_in_flight.load() > 0 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
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

/* ------------------------------------------------------------- webhooks */

inline Json::Value webhook_mode_json(const State& st) {
  Json::Value j(Json::objectValue);
  j["mode"] = st.webhook_mode.mode;
  j["remaining"] = st.webhook_mode.remaining;
  j["delayMs"] = static_cast<Json::Int64>(st.webhook_mode.delay_ms);
  j["delivery"] = st.webhook_mode.async ? "async" : "sync";
  j["held"] = static_cast<Json::UInt64>(st.webhook_held.size());
  j["queued"] = static_cast<Json::UInt64>(st.webhook_queue.size());
  return j;
}

/* One delivery-log entry; index = its position in the newest-first log. */
inline Json::Value delivery_json(const DeliveryRecord& r, size_t index) {
  Json::Value j(Json::objectValue);
  j["index"] = static_cast<Json::UInt64>(index);
  j["seq"] = static_cast<Json::Int64>(r.seq);
  j["webhookId"] = r.out.webhook_id;
  j["triggerEvent"] = r.out.trigger;
  j["bookingUid"] = r.out.booking_uid.empty() ? Json::Value::null : Json::Value(r.out.booking_uid);
  j["subscriberUrl"] = r.out.url;
  j["mode"] = r.out.mode;
  j["outcome"] = r.outcome;
  j["status"] = r.status ? Json::Value(r.status) : Json::Value::null;
  j["error"] = r.error.empty() ? Json::Value::null : Json::Value(r.error);
  j["attemptedAt"] = iso_utc_ms(r.attempt_ms);
  j["attemptedAtMs"] = static_cast<Json::Int64>(r.attempt_ms);
  j["durationMs"] = static_cast<Json::Int64>(r.duration_ms);
  j["redeliveryOf"] = r.out.redelivery_of ? Json::Value(static_cast<Json::Int64>(r.out.redelivery_of)) : Json::Value::null;
  j["contentType"] = r.out.content_type;
  j["signature"] = r.out.signature;
  j["webhookVersion"] = k_webhook_version;
  j["body"] = r.out.body;
  return j;
}

/* POST /_emulator/webhook-mode {"mode": normal|drop|duplicate|delay|reorder|fail,
 * "count": N, "delay_ms": N, "delivery": "sync"|"async"}: the next `count`
 * deliveries (default 1; reorder: at least and by default 2) are dropped,
 * sent twice, sent delay_ms later (default 1000), held and sent in reverse
 * order once `count` are held, or "fail" (not sent, logged as an emulated
 * network failure). Then back to normal. Setting a mode releases a held
 * reorder batch (reversed). "delivery" alone switches between sending before
 * the triggering API call answers (sync, the default) and from the worker
 * thread (async); it stays until changed or reset. */
inline Reply handle_control_webhook_mode(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  static const std::vector<std::string> modes = {"normal", "drop", "duplicate", "delay", "reorder", "fail"};
  if (b.isMember("delivery")) {
    if (!b["delivery"].isString() || (b["delivery"].asString() != "sync" && b["delivery"].asString() != "async")) {
      return control_error("delivery must be \"sync\" or \"async\"");
    }
  }
  if (!b.isMember("mode") && !b.isMember("delivery")) return control_error("give mode (and/or delivery)");
  WebhookMode m = c.st.webhook_mode;
  if (b.isMember("mode")) {
    if (!b["mode"].isString() || std::find(modes.begin(), modes.end(), b["mode"].asString()) == modes.end()) {
      return control_error("mode must be one of: " + join(modes, ", "));
    }
    m.mode = b["mode"].asString();
    int64_t v = 0;
    int64_t count = m.mode == "reorder" ? 2 : 1;
    if (b.isMember("count")) {
      if (!json_as_int64(b["count"], v) || v < 1 || v > 1000000) return control_error("count must be an integer >= 1");
      count = v;
    }
    if (m.mode == "reorder" && count < 2) return control_error("reorder needs count >= 2 (how many deliveries to hold)");
    int64_t delay = m.mode == "delay" ? 1000 : 0;
    if (b.isMember("delay_ms")) {
      if (!json_as_int64(b["delay_ms"], v) || v < 0 || v > 600000) return control_error("delay_ms must be 0-600000");
      delay = v;
    }
    m.remaining = m.mode == "normal" ? 0 : static_cast<int>(count);
    m.reorder_batch = m.mode == "reorder" ? static_cast<int>(count) : 0;
    m.delay_ms = m.mode == "delay" ? delay : 0;
  }
  if (b.isMember("delivery")) m.async = b["delivery"].asString() == "async";
  std::vector<OutgoingWebhook> released = release_held_webhooks(c.st);
  c.st.webhook_mode = m;
  send_webhooks_later(c, std::move(released));
  Json::Value j = webhook_mode_json(c.st);
  j["ok"] = true;
  return control_json(200, j);
}

/* GET /_emulator/webhook-mode. */
inline Reply handle_control_get_webhook_mode(Call& c) {
  Json::Value j = webhook_mode_json(c.st);
  j["ok"] = true;
  return control_json(200, j);
}

/* GET /_emulator/deliveries[?webhookId=&triggerEvent=&bookingUid=&limit=]:
 * the delivery log, newest first (at most 500 kept): {deliveries, total}.
 * Filters keep each entry's index in the whole log. */
inline Reply handle_control_deliveries(Call& c) {
  auto webhook_id = c.query("webhookId");
  auto trigger = c.query("triggerEvent");
  auto booking_uid = c.query("bookingUid");
  int64_t limit = 500;
  if (auto l = c.query("limit")) {
    if (!parse_int64(*l, limit) || limit < 1) return control_error("limit must be a positive integer");
  }
  Json::Value list(Json::arrayValue);
  for (size_t i = 0; i < c.st.deliveries.size() && static_cast<int64_t>(list.size()) < limit; ++i) {
    const DeliveryRecord& r = c.st.deliveries[i];
    if (webhook_id && r.out.webhook_id != *webhook_id) continue;
    if (trigger && r.out.trigger != *trigger) continue;
    if (booking_uid && r.out.booking_uid != *booking_uid) continue;
    list.append(delivery_json(r, i));
  }
  Json::Value j(Json::objectValue);
  j["deliveries"] = list;
  j["total"] = static_cast<Json::UInt64>(c.st.deliveries.size());
  return control_json(200, j);
}

/* DELETE /_emulator/deliveries: empties the log. */
inline Reply handle_control_clear_deliveries(Call& c) {
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["cleared"] = static_cast<Json::UInt64>(c.st.deliveries.size());
  c.st.deliveries.clear();
  return control_json(200, j);
}

/* POST /_emulator/deliveries/redeliver {"index": N} (position in GET
 * /_emulator/deliveries) or {"seq": N}: sends that entry again, byte for
 * byte (same body, same X-Cal-Signature-256, same URL), whatever the webhook
 * looks like now and ignoring the fault mode; answers with the new entry. */
inline Reply handle_control_redeliver(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  const DeliveryRecord* found = nullptr;
  int64_t v = 0;
  if (b.isMember("index")) {
    if (!json_as_int64(b["index"], v) || v < 0) return control_error("index must be a non-negative integer");
    if (static_cast<size_t>(v) >= c.st.deliveries.size()) {
      return control_error("no delivery at index " + std::to_string(v) + " (the log has " +
                           std::to_string(c.st.deliveries.size()) + ")");
    }
    found = &c.st.deliveries[static_cast<size_t>(v)];
  } else if (b.isMember("seq")) {
    if (!json_as_int64(b["seq"], v)) return control_error("seq must be an integer");
    for (const auto& r : c.st.deliveries) if (r.seq == v) found = &r;
    if (!found) return control_error("no delivery with seq " + std::to_string(v));
  } else {
    return control_error("give index or seq");
  }
  OutgoingWebhook o = found->out;
  o.epoch = c.st.webhook_epoch;
  o.mode = "redeliver";
  o.redelivery_of = found->seq;
  State* st = &c.st;
  c.finish = [st, o](Reply& reply) {
    DeliveryRecord rec = send_webhook(*st, o);
    Json::Value j(Json::objectValue);
    j["ok"] = true;
    j["delivery"] = delivery_json(rec, 0);
    reply = control_json(200, j);
  };
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  return control_json(200, j);
}

/* POST /_emulator/webhooks/fire {"triggerEvent":"PING", "webhookId"?}: a
 * PING (the web UI's test button, §7.4) to every webhook, or to one, active
 * or not, through the fault mode. Sync delivery: answers {ok, sent:[entries]}
 * once sent; async: {ok, queued:N}. */
inline Reply handle_control_fire_webhook(Call& c) {
  Json::Value b;
  if (auto err = control_body(c, b)) return *err;
  if (!b["triggerEvent"].isString() || b["triggerEvent"].asString() != "PING") {
    return control_error("triggerEvent must be \"PING\" (booking triggers fire from the booking endpoints)");
  }
  std::optional<std::string> only;
  if (b.isMember("webhookId")) {
    if (!b["webhookId"].isString() || !c.st.webhooks.count(b["webhookId"].asString())) {
      return control_error("no webhook with that webhookId");
    }
    only = b["webhookId"].asString();
  }
  std::vector<const Webhook*> hooks;
  for (const auto& [id, w] : c.st.webhooks) if (!only || id == *only) hooks.push_back(&w);
  std::sort(hooks.begin(), hooks.end(), [](const Webhook* x, const Webhook* y) { return x->seq < y->seq; });
  const OJ payload = ping_payload(c.now_ms);
  const std::string created_at = iso_utc_ms(c.now_ms);
  std::vector<OutgoingWebhook> outs;
  for (const Webhook* w : hooks) outs.push_back(make_outgoing(c.st, *w, "PING", "", webhook_body(*w, "PING", created_at, payload)));
  const size_t n_built = outs.size();
  std::vector<OutgoingWebhook> sends = route_webhooks(c.st, std::move(outs));
  Json::Value j(Json::objectValue);
  j["ok"] = true;
  j["webhooks"] = static_cast<Json::UInt64>(n_built);
  if (c.st.webhook_mode.async || sends.empty()) {
    j["queued"] = static_cast<Json::UInt64>(sends.size());
    send_webhooks_later(c, std::move(sends));
    return control_json(200, j);
  }
  State* st = &c.st;
  c.finish = [st, sends, j](Reply& reply) {
    Json::Value out = j;
    out["sent"] = Json::Value(Json::arrayValue);
    for (const auto& o : sends) out["sent"].append(delivery_json(send_webhook(*st, o), 0));
    reply = control_json(200, out);
  };
  return control_json(200, j);
}

/* GET /_emulator/state: users with token counts, schedules, webhooks,
 * counters, faults. */
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

  j["webhooks"] = Json::Value(Json::arrayValue);
  std::vector<const Webhook*> hooks;
  for (const auto& [id, w] : c.st.webhooks) hooks.push_back(&w);
  std::sort(hooks.begin(), hooks.end(), [](const Webhook* a, const Webhook* b) { return a->seq < b->seq; });
  for (const Webhook* w : hooks) {
    Json::Value wj = webhook_json(*w);
    wj["scope"] = w->scope;
    wj["deliveryAttempts"] = static_cast<Json::Int64>(w->n_attempts);
    wj["delivered"] = static_cast<Json::Int64>(w->n_ok);
    wj["failed"] = static_cast<Json::Int64>(w->n_failed);
    int n_jobs = 0;
    for (const auto& job : c.st.webhook_jobs) if (job.webhook_id == w->id) ++n_jobs;
    wj["scheduledJobs"] = n_jobs;
    j["webhooks"].append(wj);
  }
  j["webhookMode"] = webhook_mode_json(c.st);

  Json::Value counts(Json::objectValue);
  counts["users"] = static_cast<Json::UInt64>(c.st.users.size());
  counts["schedules"] = static_cast<Json::UInt64>(c.st.schedules.size());
  counts["eventTypes"] = static_cast<Json::UInt64>(c.st.event_types.size());
  counts["bookings"] = static_cast<Json::UInt64>(c.st.bookings.size());
  counts["bookingsByStatus"] = by_status;
  counts["reservations"] = static_cast<Json::UInt64>(c.st.reservations.size());
  counts["activeReservations"] = n_active_reservations;
  counts["webhooks"] = static_cast<Json::UInt64>(c.st.webhooks.size());
  counts["scheduledWebhookJobs"] = static_cast<Json::UInt64>(c.st.webhook_jobs.size());
  counts["pendingWebhookDeliveries"] = static_cast<Json::UInt64>(c.st.webhook_queue.size() + c.st.webhook_held.size());
  counts["webhookDeliveriesLogged"] = static_cast<Json::UInt64>(c.st.deliveries.size());
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
  cj["webhookAttempts"] = static_cast<Json::Int64>(k.n_webhook_attempts);
  cj["webhookDelivered"] = static_cast<Json::Int64>(k.n_webhook_delivered);
  cj["webhookHttpErrors"] = static_cast<Json::Int64>(k.n_webhook_http_errors);
  cj["webhookNetworkErrors"] = static_cast<Json::Int64>(k.n_webhook_network_errors);
  cj["webhookDropped"] = static_cast<Json::Int64>(k.n_webhook_dropped);
  cj["webhookEmulatedFailures"] = static_cast<Json::Int64>(k.n_webhook_emulated_failures);
  cj["webhookDuplicated"] = static_cast<Json::Int64>(k.n_webhook_duplicated);
  cj["webhookDelayed"] = static_cast<Json::Int64>(k.n_webhook_delayed);
  cj["webhookReordered"] = static_cast<Json::Int64>(k.n_webhook_reordered);
  cj["webhookJobsExpired"] = static_cast<Json::Int64>(k.n_webhook_jobs_expired);
  cj["webhookRedeliveries"] = static_cast<Json::Int64>(k.n_webhook_redeliveries);
  j["counters"] = cj;

  j["faults"] = Json::Value(Json::arrayValue);
  for (const auto& f : c.st.faults) j["faults"].append(fault_json(f));
  return control_json(200, j);
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
  const int64_t real = real_now_ms();
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
  c.st.webhook_cv.notify_all();  // MEETING_* jobs may be due now
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
