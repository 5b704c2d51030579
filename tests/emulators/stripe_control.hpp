/* stripe_control.hpp: the Stripe emulator's test controls under /_emulator/
 * (not part of Stripe; client code never calls them). They play the customer
 * (pay, decline) and Stripe's background jobs (expiry, the clock, refund
 * outcomes), inject faults, steer webhook delivery and show its log. Bodies
 * are JSON objects (or forms); replies are plain JSON. Handlers run with
 * State::mu held. */
#pragma once
#include "stripe_pages.hpp"

namespace stripe_emu {

inline Reply control_json(int status, const Json::Value& j) {
  Reply r;
  r.status = status;
  r.body = json_pretty(j) + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline Reply control_error(int status, const std::string& message) {
  Json::Value j = jobj();
  j["ok"] = false;
  j["error"] = message;
  return control_json(status, j);
}

/* The control body: empty -> {}, a JSON object, or a form. */
inline std::optional<Reply> control_body(const Call& c, Json::Value& out) {
  const std::string& b = c.req.body;
  size_t first = b.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) { out = jobj(); return std::nullopt; }
  if (b[first] == '{') {
    if (!json_parse(b, out) || !out.isObject()) return control_error(400, "body must be a JSON object");
    return std::nullopt;
  }
  if (decode_form(b, out)) return control_error(400, "body must be a JSON object or a form");
  return std::nullopt;
}

inline std::string jstr(const Json::Value& j, const char* k, const std::string& d = "") {
  return j.isMember(k) && (j[k].isString() || j[k].isNumeric() || j[k].isBool()) ? j[k].asString() : d;
}
inline std::optional<int64_t> jint(const Json::Value& j, const char* k) {
  if (!j.isMember(k)) return std::nullopt;
  if (j[k].isIntegral()) return j[k].asInt64();
  if (j[k].isString()) {
    const std::string s = j[k].asString();
    size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
    if (i < s.size() && s.size() < 19 && s.find_first_not_of("0123456789", i) == std::string::npos) return std::stoll(s);
  }
  return std::nullopt;
}

inline void reset_state(State& st, const Config& cfg) {
  st.sessions.clear();
  st.payment_intents.clear();
  st.charges.clear();
  st.refunds.clear();
  st.invoices.clear();
  st.line_items.clear();
  st.pi_data.clear();
  st.api_version_of.clear();
  st.session_order.clear();
  st.refund_order.clear();
  st.event_order.clear();
  st.events.clear();
  st.event_body.clear();
  st.idempotency.clear();
  st.faults.clear();
  st.counters = Counters{};
  st.clock_offset_ms = 0;
  st.refund_status = cfg.refund_status;
  st.next_invoice_number = 1;
  st.endpoints.clear();
  if (!cfg.webhook_url.empty()) {
    Endpoint e;
    e.id = "we_default";
    e.url = cfg.webhook_url;
    e.secret = cfg.webhook_secret;
    e.old_secret = cfg.old_webhook_secret;
    st.endpoints.push_back(e);
  }
  st.delivery_mode = "normal";
  st.delivery_delay_ms = 0;
  st.queue.clear();
  st.held.clear();
  st.attempts.clear();
  st.epoch++;
  st.cv.notify_all();
}

inline Reply handle_health(Call&) {
  Json::Value j = jobj();
  j["ok"] = true;
  j["service"] = "stripe_emulator";
  return control_json(200, j);
}

inline Reply handle_reset(Call& c) {
  reset_state(c.st, c.cfg);
  Json::Value j = jobj();
  j["ok"] = true;
  return control_json(200, j);
}

inline Reply handle_state(Call& c) {
  const State& st = c.st;
  Json::Value j = jobj();
  Json::Value k = jobj();
  k["requests"] = ji(st.counters.n_requests);
  k["idempotent_replays"] = ji(st.counters.n_idempotent_replays);
  k["idempotency_conflicts"] = ji(st.counters.n_idempotency_conflicts);
  k["idempotency_in_flight"] = ji(st.counters.n_idempotency_in_flight);
  k["auth_failures"] = ji(st.counters.n_auth_failures);
  k["validation_errors"] = ji(st.counters.n_validation_errors);
  k["faults_fired"] = ji(st.counters.n_faults_fired);
  k["refunds"] = ji(st.counters.n_refunds);
  k["events"] = ji(st.counters.n_events);
  k["deliveries_ok"] = ji(st.counters.n_deliveries_ok);
  k["deliveries_failed"] = ji(st.counters.n_deliveries_failed);
  k["payments_succeeded"] = ji(st.counters.n_payments_succeeded);
  k["payments_declined"] = ji(st.counters.n_payments_declined);
  j["counters"] = k;
  Json::Value by = jobj();
  by["open"] = 0;
  by["complete"] = 0;
  by["expired"] = 0;
  for (const auto& [id, s] : st.sessions) by[s["status"].asString()] = by[s["status"].asString()].asInt() + 1;
  j["sessions"] = by;
  Json::Value refunds = jobj();
  for (const auto& [id, r] : st.refunds) refunds[r["status"].asString()] = refunds[r["status"].asString()].asInt() + 1;
  j["refunds"] = refunds;
  Json::Value objects = jobj();
  objects["checkout_sessions"] = static_cast<int>(st.sessions.size());
  objects["payment_intents"] = static_cast<int>(st.payment_intents.size());
  objects["charges"] = static_cast<int>(st.charges.size());
  objects["refunds"] = static_cast<int>(st.refunds.size());
  objects["invoices"] = static_cast<int>(st.invoices.size());
  objects["events"] = static_cast<int>(st.events.size());
  objects["idempotency_keys"] = static_cast<int>(st.idempotency.size());
  j["objects"] = objects;
  Json::Value d = jobj();
  d["mode"] = st.delivery_mode;
  d["delay_ms"] = ji(st.delivery_delay_ms);
  d["queued"] = static_cast<int>(st.queue.size());
  d["held"] = static_cast<int>(st.held.size());
  d["attempts"] = static_cast<int>(st.attempts.size());
  j["delivery"] = d;
  j["refund_default_status"] = st.refund_status;
  Json::Value clock = jobj();
  clock["now"] = ji(now_s(st));
  clock["offset_s"] = ji(st.clock_offset_ms / 1000);
  j["clock"] = clock;
  return control_json(200, j);
}

/* POST /_emulator/checkout/:id/pay {outcome: success|decline, email?, name?} */
inline Reply handle_control_pay(Call& c) {
  Json::Value b;
  if (auto e = control_body(c, b)) return *e;
  const std::string outcome = jstr(b, "outcome", "success");
  if (outcome != "success" && outcome != "decline") return control_error(400, "outcome must be success or decline");
  std::string email = jstr(b, "email");
  auto sit = c.st.sessions.find(c.params[0]);
  if (email.empty() && sit != c.st.sessions.end() && !sit->second["customer_email"].isString()) {
    email = "customer@example.test";
  }
  PayResult r = pay_session(c.st, c.cfg, c.base_url, c.params[0], outcome == "success", email, jstr(b, "name"),
                            c.new_events);
  Json::Value j = jobj();
  if (r.status == 404 || r.status == 409 || r.status == 400) return control_error(r.status, r.error);
  j["ok"] = true;
  j["outcome"] = outcome;
  j["paid"] = r.paid;
  if (!r.error.empty()) j["error"] = r.error;
  j["redirect_url"] = r.paid ? Json::Value(r.redirect_url) : jnull();
  j["session"] = render_session(c.st, c.st.sessions.at(c.params[0]), {"payment_intent.latest_charge"});
  return control_json(200, j);
}

/* POST /_emulator/checkout/:id/expire: Stripe's expiry job, now. */
inline Reply handle_control_expire(Call& c) {
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return control_error(404, "No such checkout.session: '" + c.params[0] + "'");
  if (it->second["status"].asString() != "open") {
    return control_error(409, "the session is " + it->second["status"].asString() + ", not open");
  }
  expire_session(c.st, c.params[0], background_origin(c.st, c.cfg, c.params[0]), c.new_events);
  Json::Value j = jobj();
  j["ok"] = true;
  j["session"] = it->second;
  return control_json(200, j);
}

/* POST /_emulator/clock {advance_s} moves the emulator clock forward ({offset_s}
 * sets the offset) and expires the sessions now past expires_at. GET shows it. */
inline Reply handle_control_clock(Call& c) {
  Json::Value j = jobj();
  if (c.req.method == "POST") {
    Json::Value b;
    if (auto e = control_body(c, b)) return *e;
    if (b.isMember("offset_s")) {
      // Sets the offset outright ({"offset_s":0} puts the clock back to real time).
      auto off = jint(b, "offset_s");
      if (!off || *off < 0 || *off > 10LL * 365 * 86400) return control_error(400, "offset_s must be an integer >= 0");
      c.st.clock_offset_ms = *off * 1000;
    } else {
      auto adv = jint(b, "advance_s");
      if (!adv || *adv < 0 || *adv > 10LL * 365 * 86400) return control_error(400, "advance_s must be an integer >= 0");
      c.st.clock_offset_ms += *adv * 1000;
    }
    Json::Value expired = jarr();
    for (const auto& id : sweep_expired(c.st, c.cfg, c.new_events)) expired.append(id);
    j["expired"] = expired;
  }
  j["ok"] = true;
  j["now"] = ji(now_s(c.st));
  j["offset_s"] = ji(c.st.clock_offset_ms / 1000);
  return control_json(200, j);
}

/* POST /_emulator/refunds/:id/status {status: succeeded|failed, failure_reason?} */
inline Reply handle_control_refund_status(Call& c) {
  Json::Value b;
  if (auto e = control_body(c, b)) return *e;
  if (!c.st.refunds.count(c.params[0])) return control_error(404, "No such refund: '" + c.params[0] + "'");
  if (auto err = set_refund_status(c.st, c.cfg, c.params[0], jstr(b, "status"), jstr(b, "failure_reason"), c.new_events)) {
    return control_error(409, *err);
  }
  Json::Value j = jobj();
  j["ok"] = true;
  j["refund"] = c.st.refunds.at(c.params[0]);
  j["charge"] = c.st.charges.at(c.st.refunds.at(c.params[0])["charge"].asString());
  return control_json(200, j);
}

/* POST /_emulator/refund-default-status {status: succeeded|pending} */
inline Reply handle_control_refund_default(Call& c) {
  if (c.req.method == "POST") {
    Json::Value b;
    if (auto e = control_body(c, b)) return *e;
    const std::string s = jstr(b, "status");
    if (s != "succeeded" && s != "pending") return control_error(400, "status must be succeeded or pending");
    c.st.refund_status = s;
  }
  Json::Value j = jobj();
  j["ok"] = true;
  j["status"] = c.st.refund_status;
  return control_json(200, j);
}

inline Json::Value fault_json(const Fault& f) {
  Json::Value j = jobj();
  j["id"] = ji(f.id);
  j["path_prefix"] = f.path_prefix;
  j["method"] = f.method;
  j["kind"] = f.kind;
  j["remaining"] = f.remaining;
  j["delay_ms"] = ji(f.delay_ms);
  j["should_retry"] = f.should_retry;
  return j;
}

/* POST /_emulator/faults {path_prefix, method?, kind: 500|429|409|drop|slow,
 * count (default 1), delay_ms (slow), should_retry (500, default true)};
 * GET lists them, DELETE clears them. */
inline Reply handle_control_faults(Call& c) {
  if (c.req.method == "DELETE") {
    c.st.faults.clear();
  } else if (c.req.method == "POST") {
    Json::Value b;
    if (auto e = control_body(c, b)) return *e;
    Fault f;
    f.id = c.st.next_fault_id++;
    f.path_prefix = jstr(b, "path_prefix", "/v1/");
    f.method = jstr(b, "method");
    f.kind = jstr(b, "kind", jstr(b, "status"));
    if (f.kind != "500" && f.kind != "429" && f.kind != "409" && f.kind != "drop" && f.kind != "slow") {
      return control_error(400, "kind must be one of 500, 429, 409, drop, slow");
    }
    if (!starts_with(f.path_prefix, "/v1")) return control_error(400, "path_prefix must start with /v1");
    auto n = jint(b, "count");
    if (n && (*n < 1 || *n > 1000)) return control_error(400, "count must be 1..1000");
    f.remaining = static_cast<int>(n.value_or(1));
    auto d = jint(b, "delay_ms");
    if (d && (*d < 0 || *d > 60000)) return control_error(400, "delay_ms must be 0..60000");
    f.delay_ms = d.value_or(f.kind == "slow" ? 1000 : 0);
    if (b.isMember("should_retry")) f.should_retry = jstr(b, "should_retry") == "true";
    c.st.faults.push_back(f);
  }
  Json::Value list = jarr();
  for (const auto& f : c.st.faults) list.append(fault_json(f));
  Json::Value j = jobj();
  j["ok"] = true;
  j["faults"] = list;
  return control_json(200, j);
}

/* POST /_emulator/delivery-mode {mode: normal|duplicate|shuffle|delay|hold|release, delay_ms} */
inline Reply handle_control_delivery_mode(Call& c) {
  Json::Value j = jobj();
  if (c.req.method == "POST") {
    Json::Value b;
    if (auto e = control_body(c, b)) return *e;
    const std::string mode = jstr(b, "mode");
    if (mode == "release") {
      j["released"] = static_cast<int>(release_held(c.st));
    } else if (mode == "normal" || mode == "duplicate" || mode == "shuffle" || mode == "delay" || mode == "hold") {
      auto d = jint(b, "delay_ms");
      if (d && (*d < 0 || *d > 600000)) return control_error(400, "delay_ms must be 0..600000");
      if (mode == "delay" && !d) return control_error(400, "mode delay needs delay_ms");
      // Leaving hold mode delivers what it kept.
      if (c.st.delivery_mode == "hold" && mode != "hold") j["released"] = static_cast<int>(release_held(c.st));
      c.st.delivery_mode = mode;
      c.st.delivery_delay_ms = d.value_or(0);
    } else {
      return control_error(400, "mode must be one of normal, duplicate, shuffle, delay, hold, release");
    }
  }
  j["ok"] = true;
  j["mode"] = c.st.delivery_mode;
  j["delay_ms"] = ji(c.st.delivery_delay_ms);
  j["held"] = static_cast<int>(c.st.held.size());
  return control_json(200, j);
}

inline Reply handle_control_release(Call& c) {
  Json::Value j = jobj();
  j["ok"] = true;
  j["released"] = static_cast<int>(release_held(c.st));
  return control_json(200, j);
}

/* POST /_emulator/events/:id/redeliver {endpoint_id?}: one more attempt to
 * each subscribed endpoint (or the one named), same body, fresh signature. */
inline Reply handle_control_redeliver(Call& c) {
  Json::Value b;
  if (auto e = control_body(c, b)) return *e;
  auto ev = c.st.events.find(c.params[0]);
  if (ev == c.st.events.end()) return control_error(404, "No such event: '" + c.params[0] + "'");
  const std::string only = jstr(b, "endpoint_id");
  int n = 0;
  for (const auto& e : c.st.endpoints) {
    if (!only.empty() ? e.id != only : !endpoint_wants(e, ev->second["type"].asString())) continue;
    Delivery d;
    d.event_id = c.params[0];
    d.endpoint_id = e.id;
    d.redelivery = true;
    d.due_real_ms = real_now_ms();
    d.epoch = c.st.epoch;
    c.st.queue.push_back(d);
    ++n;
  }
  if (n == 0) return control_error(404, "no endpoint to redeliver to");
  c.st.cv.notify_all();
  Json::Value j = jobj();
  j["ok"] = true;
  j["queued"] = n;
  return control_json(200, j);
}

inline Json::Value attempt_json(const Attempt& a) {
  Json::Value j = jobj();
  j["seq"] = ji(a.seq);
  j["event_id"] = a.event_id;
  j["event_type"] = a.event_type;
  j["endpoint_id"] = a.endpoint_id;
  j["url"] = a.url;
  j["attempt"] = a.attempt;
  j["redelivery"] = a.redelivery;
  Json::Value h = jobj();
  for (const auto& [k, v] : a.headers) h[k] = v;
  j["headers"] = h;
  j["body"] = a.body;
  j["status"] = a.status;
  j["error"] = a.error;
  j["outcome"] = a.outcome;
  j["at"] = ji(a.at_s);
  j["duration_ms"] = ji(a.duration_ms);
  j["will_retry"] = a.will_retry;
  return j;
}

/* GET /_emulator/deliveries?event_id=&type=&endpoint_id= (oldest first);
 * DELETE clears the log. */
inline Reply handle_control_deliveries(Call& c) {
  if (c.req.method == "DELETE") c.st.attempts.clear();
  const std::string ev = c.req.get_param_value("event_id");
  const std::string type = c.req.get_param_value("type");
  const std::string ep = c.req.get_param_value("endpoint_id");
  Json::Value list = jarr();
  for (const auto& a : c.st.attempts) {
    if (!ev.empty() && a.event_id != ev) continue;
    if (!type.empty() && a.event_type != type) continue;
    if (!ep.empty() && a.endpoint_id != ep) continue;
    list.append(attempt_json(a));
  }
  Json::Value j = jobj();
  j["ok"] = true;
  j["deliveries"] = list;
  j["queued"] = static_cast<int>(c.st.queue.size());
  j["held"] = static_cast<int>(c.st.held.size());
  return control_json(200, j);
}

inline Json::Value endpoint_json(const Endpoint& e) {
  Json::Value j = jobj();
  j["id"] = e.id;
  j["url"] = e.url;
  Json::Value ev = jarr();
  for (const auto& t : e.enabled_events) ev.append(t);
  j["enabled_events"] = ev;
  j["has_old_secret"] = !e.old_secret.empty();
  j["add_v0"] = e.add_v0;
  return j;  // secrets are not echoed
}

/* POST /_emulator/webhook-endpoints {url, secret, enabled_events: ["*"] | [types], old_secret?, add_v0?};
 * GET lists; DELETE /_emulator/webhook-endpoints/:id removes one. */
inline Reply handle_control_endpoints(Call& c) {
  if (c.req.method == "POST") {
    Json::Value b;
    if (auto e = control_body(c, b)) return *e;
    Endpoint e;
    e.id = "we_" + random_base62(24);
    e.url = jstr(b, "url");
    e.secret = jstr(b, "secret");
    e.old_secret = jstr(b, "old_secret");
    e.add_v0 = jstr(b, "add_v0") == "true";
    if (!is_valid_url(e.url)) return control_error(400, "url must be an http(s) URL");
    if (e.secret.empty()) return control_error(400, "secret is required");
    if (b.isMember("enabled_events")) {
      e.enabled_events.clear();
      const Json::Value& ev = b["enabled_events"];
      if (ev.isArray()) {
        for (const auto& t : ev) if (t.isString() && !t.asString().empty()) e.enabled_events.push_back(t.asString());
      } else if (auto items = list_items(ev)) {
        for (const auto& [i, t] : *items) if (t->isString()) e.enabled_events.push_back(t->asString());
      } else if (ev.isString()) {
        e.enabled_events.push_back(ev.asString());
      }
      if (e.enabled_events.empty()) return control_error(400, "enabled_events must list \"*\" or event types");
    }
    c.st.endpoints.push_back(e);
    Json::Value j = endpoint_json(e);
    j["ok"] = true;
    return control_json(200, j);
  }
  if (c.req.method == "DELETE") {
    auto it = std::find_if(c.st.endpoints.begin(), c.st.endpoints.end(),
                           [&](const Endpoint& e) { return e.id == c.params[0]; });
    if (it == c.st.endpoints.end()) return control_error(404, "no such endpoint");
    c.st.endpoints.erase(it);
  }
  Json::Value list = jarr();
  for (const auto& e : c.st.endpoints) list.append(endpoint_json(e));
  Json::Value j = jobj();
  j["ok"] = true;
  j["endpoints"] = list;
  return control_json(200, j);
}

}  // namespace stripe_emu
