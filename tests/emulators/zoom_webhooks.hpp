/* zoom_webhooks.hpp: Zoom event subscriptions for the emulator (reference
 * §2.5, §5.2): events are queued per endpoint with their exact body, sent by
 * one background worker with x-zm-request-timestamp / x-zm-signature
 * (v0=hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)), x-zm-trackingid,
 * content-type and user-agent. A reply counts only when it is 200 or 204
 * within the delivery timeout; otherwise the event is retried 5 min, then
 * 20 min, then 60 min later (each divided by --time-compression), then given
 * up. Before the first event an endpoint must pass URL validation
 * (endpoint.url_validation with a plainToken, answered with the token and its
 * HMAC); the receiver may not be up yet when the emulator starts, so
 * validation is tried lazily before each delivery until it passes, and again
 * after 72 hours (emulator clock). Every HTTP attempt, validation included,
 * goes to the delivery log (/_emulator/deliveries). */
#pragma once
#include "zoom_core.hpp"

namespace zoom_emu {

inline constexpr int64_t k_revalidate_ms = 72LL * 3600 * 1000;
inline constexpr int64_t k_validation_backoff_ms = 500;  // real time

/* "v0=" + lowercase hex HMAC-SHA256(secret, "v0:" + ts + ":" + body). */
inline std::string zoom_signature(const std::string& secret, const std::string& ts, const std::string& body) {
  return "v0=" + coach::crypto::hmac_sha256_hex(secret, "v0:" + ts + ":" + body);
}

/* The delay before retry number `attempt` (2, 3, 4), real ms after compression. */
inline int64_t retry_delay_ms(const Config& cfg, int next_attempt) {
  static const int64_t base_s[] = {300, 1200, 3600};
  const int64_t s = base_s[std::clamp(next_attempt - 2, 0, 2)];
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(s) * 1000.0 / cfg.time_compression));
}

/* Queues `event` with payload for every endpoint subscribed to it; the body
 * is built once, so every endpoint and every retry gets the same bytes.
 * Precondition: st.mu held. */
inline void enqueue_event(Call& c, const std::string& event, const Json::Value& payload) {
  Json::Value env(Json::objectValue);
  env["event"] = event;
  env["event_ts"] = static_cast<Json::Int64>(c.now_ms);
  env["payload"] = payload;
  const std::string body = coach::json::write(env);
  const int64_t seq = c.st.next_event_seq++;
  for (const auto& e : c.st.endpoints) {
    if (!e.events.count(event)) continue;
    QueuedEvent q;
    q.event_seq = seq;
    q.endpoint_id = e.id;
    q.event = event;
    q.body = body;
    q.due_real_ms = real_now_ms();
    q.epoch = c.st.epoch;
    c.st.queue.push_back(std::move(q));
    c.wake_worker = true;
  }
}

struct SendResult {
  int status = 0;
  std::string response_body;
  std::string error;
  int64_t duration_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

/* POSTs one signed body to url, without the state lock. ts_s is the
 * x-zm-request-timestamp value. */
inline SendResult send_signed(const std::string& url, const std::string& secret, const std::string& body,
                              const std::string& ts_s, int64_t timeout_ms) {
  SendResult r;
  r.headers = {{"content-type", "application/json; charset=utf-8"},
               {"user-agent", "Zoom Marketplace/1.0a"},
               {"x-zm-request-timestamp", ts_s},
               {"x-zm-signature", zoom_signature(secret, ts_s, body)},
               {"x-zm-trackingid", "v=2.0&clid=emu&rid=" + coach::crypto::random_hex(16)}};
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const size_t scheme_end = url.find("://");
    const size_t path_start = url.find_first_of("/?#", scheme_end == std::string::npos ? 0 : scheme_end + 3);
    const std::string base = url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
    if (const size_t hash = path.find('#'); hash != std::string::npos) path.erase(hash);
    if (path.empty() || path[0] == '?') path = "/" + path;
    httplib::Client cli(base);
    if (!cli.is_valid()) {
      r.error = "invalid endpoint URL";
    } else {
      const auto timeout = std::chrono::milliseconds(timeout_ms);
      cli.set_connection_timeout(timeout);
      cli.set_read_timeout(timeout);
      cli.set_write_timeout(timeout);
      cli.set_follow_location(false);
      httplib::Headers h;
      for (const auto& [k, v] : r.headers) {
        if (k != "content-type") h.emplace(k, v);
      }
      auto res = cli.Post(path, h, body, "application/json; charset=utf-8");
      if (res) {
        r.status = res->status;
        r.response_body = res->body.substr(0, 4096);
      } else {
        r.error = "network error: " + httplib::to_string(res.error());
      }
    }
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  if (r.status != 0 && r.duration_ms > timeout_ms) r.error = "answered after the " + std::to_string(timeout_ms) + " ms limit";
  return r;
}

/* Appends to the delivery log. Precondition: st.mu held. */
inline Delivery& log_delivery(State& st, Delivery d) {
  d.seq = st.next_delivery_seq++;
  st.deliveries.push_back(std::move(d));
  while (st.deliveries.size() > k_max_deliveries) st.deliveries.pop_front();
  return st.deliveries.back();
}

inline Endpoint* find_endpoint(State& st, const std::string& id) {
  for (auto& e : st.endpoints) if (e.id == id) return &e;
  return nullptr;
}

struct ValidationResult {
  bool found = false;
  bool ok = false;
  int status = 0;
  std::string error;
  int64_t delivery_seq = 0;
};

/* Sends endpoint.url_validation to the endpoint and checks the answer: HTTP
 * 200 within the timeout, a JSON object whose plainToken is ours and whose
 * encryptedToken is hex HMAC-SHA256(secret, plainToken). Records the attempt
 * and the endpoint's new status (unless a reset came in between).
 * Precondition: st.mu NOT held. */
inline ValidationResult validate_endpoint(State& st, const Config& cfg, const std::string& endpoint_id) {
  ValidationResult vr;
  Endpoint ep;
  uint64_t epoch = 0;
  std::string ts, body;
  const std::string plain = coach::crypto::base64url_encode(coach::crypto::random_bytes(16));
  {
    std::lock_guard<std::mutex> lock(st.mu);
    Endpoint* e = find_endpoint(st, endpoint_id);
    if (!e) return vr;
    ep = *e;
    epoch = st.epoch;
    const int64_t now = emu_now_ms(st);
    // Signed with the wall clock, as Zoom does: receivers check it against theirs.
    ts = std::to_string(real_now_ms() / 1000);
    Json::Value env(Json::objectValue);
    env["event"] = "endpoint.url_validation";
    env["event_ts"] = static_cast<Json::Int64>(now);
    env["payload"]["plainToken"] = plain;
    body = coach::json::write(env);
    st.in_flight++;
  }
  vr.found = true;
  SendResult r = send_signed(ep.url, ep.secret, body, ts, cfg.delivery_timeout_ms);
  std::string error = r.error;
  if (error.empty()) {
    if (r.status != 200) {
      error = "validation answered HTTP " + std::to_string(r.status) + " (200 required)";
    } else {
      auto parsed = coach::json::parse(r.response_body);
      const std::string want = coach::crypto::hmac_sha256_hex(ep.secret, plain);
      if (!parsed || !parsed->isObject()) {
        error = "validation reply is not a JSON object";
      } else if (!(*parsed)["plainToken"].isString() || (*parsed)["plainToken"].asString() != plain) {
        error = "validation reply: plainToken does not match";
      } else if (!(*parsed)["encryptedToken"].isString() ||
                 !coach::crypto::constant_time_equal(to_lower((*parsed)["encryptedToken"].asString()), want)) {
        error = "validation reply: encryptedToken is not hex HMAC-SHA256(secret, plainToken)";
      }
    }
  }
  vr.status = r.status;
  vr.error = error;
  vr.ok = error.empty();
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.in_flight--;
    if (epoch == st.epoch) {
      Delivery d;
      d.kind = "validation";
      d.event = "endpoint.url_validation";
      d.endpoint_id = ep.id;
      d.url = ep.url;
      d.headers = r.headers;
      d.body = body;
      d.status = r.status;
      d.response_body = r.response_body;
      d.outcome = vr.ok ? "ok" : "failed";
      d.error = error;
      d.at_ms = emu_now_ms(st);
      d.duration_ms = r.duration_ms;
      vr.delivery_seq = log_delivery(st, std::move(d)).seq;
      (vr.ok ? st.counters.n_validations_ok : st.counters.n_validations_failed)++;
      if (Endpoint* e = find_endpoint(st, endpoint_id)) {
        e->n_validation_attempts++;
        e->last_validation_real_ms = real_now_ms();
        if (vr.ok) {
          e->validation = "validated";
          e->validated_at_ms = emu_now_ms(st);
          e->validation_error.clear();
        } else {
          // Also after an earlier success: a failed re-validation (72 h, or
          // /_emulator/webhook/validate) stops deliveries, as with Zoom.
          e->validation = "failed";
          e->validation_error = error;
        }
      }
    }
  }
  std::fprintf(stderr, "zoom_emulator: url_validation %s -> %s %s\n", ep.url.c_str(), vr.ok ? "ok" : "failed",
               error.c_str());
  return vr;
}

/* Attempts one queued delivery: validates the endpoint first when needed,
 * then sends; on failure queues the next retry or gives up after the fourth
 * attempt. Precondition: st.mu NOT held. */
inline void deliver_one(State& st, const Config& cfg, QueuedEvent q) {
  bool need_validation = false;
  std::string not_sent_cached;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (q.epoch != st.epoch) return;
    Endpoint* e = find_endpoint(st, q.endpoint_id);
    if (!e) return;  // endpoint removed: the event goes with it
    need_validation = e->validation != "validated" || emu_now_ms(st) - e->validated_at_ms > k_revalidate_ms;
    // A validation that failed moments ago is not repeated for every queued
    // event (a burst of events to a dead receiver would flood the log).
    if (need_validation && e->validation == "failed" &&
        real_now_ms() - e->last_validation_real_ms < k_validation_backoff_ms) {
      not_sent_cached = "not sent: endpoint URL not validated (" + e->validation_error + ")";
      need_validation = false;
    }
  }
  std::string not_sent = not_sent_cached;
  if (need_validation) {
    ValidationResult vr = validate_endpoint(st, cfg, q.endpoint_id);
    if (!vr.found) return;
    if (!vr.ok) not_sent = "not sent: endpoint URL not validated (" + vr.error + ")";
  }
  Endpoint ep;
  std::string ts;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (q.epoch != st.epoch) return;
    Endpoint* e = find_endpoint(st, q.endpoint_id);
    if (!e) return;
    ep = *e;
    ts = std::to_string(real_now_ms() / 1000);  // the wall clock, whatever /_emulator/clock says
    st.in_flight++;
  }
  SendResult r;
  if (not_sent.empty()) r = send_signed(ep.url, ep.secret, q.body, ts, cfg.delivery_timeout_ms);
  std::string error = not_sent.empty() ? r.error : not_sent;
  if (error.empty() && r.status != 200 && r.status != 204) {
    error = "answered HTTP " + std::to_string(r.status) + " (200 or 204 required)";
  }
  const bool ok = error.empty();
  std::fprintf(stderr, "zoom_emulator: webhook %s -> %s attempt %d: %s %s\n", q.event.c_str(), ep.url.c_str(),
               q.attempt, ok ? "ok" : "failed", error.c_str());
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.in_flight--;
    if (q.epoch != st.epoch) return;
    Delivery d;
    d.kind = "event";
    d.event_seq = q.event_seq;
    d.event = q.event;
    d.endpoint_id = ep.id;
    d.url = ep.url;
    d.attempt = q.attempt;
    if (not_sent.empty()) d.headers = r.headers;
    d.body = q.body;
    d.status = r.status;
    d.response_body = r.response_body;
    d.outcome = ok ? "ok" : "failed";
    d.error = error;
    d.at_ms = emu_now_ms(st);
    d.duration_ms = r.duration_ms;
    log_delivery(st, std::move(d));
    (ok ? st.counters.n_deliveries_ok : st.counters.n_deliveries_failed)++;
    if (!ok) {
      if (q.attempt >= 4) {
        st.counters.n_events_given_up++;
      } else {
        q.attempt++;
        q.due_real_ms = real_now_ms() + retry_delay_ms(cfg, q.attempt);
        st.queue.push_back(std::move(q));
      }
    }
  }
}

/* The delivery worker: validates the endpoints once at start-up (when asked
 * to; failures are only recorded, the receiver may not be up yet), then
 * sends due deliveries in due order until State::stop. */
inline void run_delivery_worker(State& st, const Config& cfg) {
  if (cfg.validate_on_start) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<std::string> ids;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      for (const auto& e : st.endpoints) if (e.validation == "pending") ids.push_back(e.id);
    }
    for (const auto& id : ids) validate_endpoint(st, cfg, id);
  }
  std::unique_lock<std::mutex> lock(st.mu);
  while (!st.stop) {
    const int64_t now = real_now_ms();
    auto best = st.queue.end();
    for (auto it = st.queue.begin(); it != st.queue.end(); ++it) {
      if (it->due_real_ms > now) continue;
      if (best == st.queue.end() || it->due_real_ms < best->due_real_ms ||
          (it->due_real_ms == best->due_real_ms && it->event_seq < best->event_seq)) {
        best = it;
      }
    }
    if (best != st.queue.end()) {
      QueuedEvent q = std::move(*best);
      st.queue.erase(best);
      lock.unlock();
      deliver_one(st, cfg, std::move(q));
      lock.lock();
      continue;
    }
    int64_t wake = now + 500;
    for (const auto& q : st.queue) wake = std::min(wake, q.due_real_ms);
    st.cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wake - now)));
  }
}

/* --------------------------------------------------------------- payloads */

/* The meeting fields every meeting.* event carries (§2.5): id, uuid,
 * host_id, topic, type, start_time, timezone, duration. id_as_string: the
 * started/ended/participant events send the id as a string. */
inline Json::Value event_meeting_object(const Meeting& m, bool id_as_string) {
  Json::Value o(Json::objectValue);
  if (id_as_string) o["id"] = std::to_string(m.id);
  else o["id"] = static_cast<Json::Int64>(m.id);
  o["uuid"] = id_as_string ? m.instance_uuid : m.uuid;
  o["host_id"] = m.host_id;
  o["topic"] = m.obj["topic"];
  o["type"] = m.obj["type"];
  if (m.obj.isMember("start_time")) o["start_time"] = m.obj["start_time"];
  o["timezone"] = m.obj["timezone"];
  if (m.obj.isMember("duration")) o["duration"] = m.obj["duration"];
  return o;
}

/* {"account_id", "operator", "operator_id", "object"} for created/updated/deleted. */
inline Json::Value operator_payload(const Call& c, const Json::Value& object) {
  Json::Value p(Json::objectValue);
  p["account_id"] = c.cfg.account_id;
  p["operator"] = c.st.users.front().email;
  p["operator_id"] = c.st.users.front().id;
  p["object"] = object;
  return p;
}

}  // namespace zoom_emu
