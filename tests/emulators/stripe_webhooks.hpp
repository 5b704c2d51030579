/* stripe_webhooks.hpp: Stripe events and their webhook delivery (reference
 * §1.8 and §5.1): one stored Event per state change with a snapshot of the
 * object, signed POSTs (Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 * "t.body" keyed by the whole whsec_ secret>) to every subscribed endpoint,
 * 3 retries with growing delays, every attempt recorded, and the delivery
 * modes of the test controls (duplicate, shuffle, delay, hold). */
#pragma once
#include <random>
#include <thread>

#include "stripe_core.hpp"

namespace stripe_emu {

/* Who caused an event: an API request (its id and Idempotency-Key) or the
 * customer / Stripe itself (both null), and the API version to render in. */
struct Origin {
  Json::Value request_id = jnull();
  Json::Value idempotency_key = jnull();
  std::string api_version;
};

inline Origin api_origin(const Call& c) {
  Origin o;
  o.request_id = c.request_id;
  o.idempotency_key = c.idempotency_key.empty() ? jnull() : Json::Value(c.idempotency_key);
  o.api_version = c.api_version;
  return o;
}

/* A customer- or Stripe-driven change, rendered in the version the object was
 * created with. */
inline Origin background_origin(const State& st, const Config& cfg, const std::string& object_id) {
  Origin o;
  auto it = st.api_version_of.find(object_id);
  o.api_version = it == st.api_version_of.end() ? cfg.api_version : it->second;
  return o;
}

inline bool endpoint_wants(const Endpoint& e, const std::string& type) {
  for (const auto& t : e.enabled_events) {
    if (t == "*" || t == type) return true;
    if (t.size() > 2 && t.compare(t.size() - 2, 2, ".*") == 0 && starts_with(type, t.substr(0, t.size() - 1))) {
      return true;
    }
  }
  return false;
}

/* Stores one event (its body is serialized once, here, and never changes)
 * and appends its id to `batch` for dispatch_events. previous: the changed
 * fields' old values (*.updated, charge.refunded), or null. st.mu held. */
inline std::string emit_event(State& st, std::vector<std::string>& batch, const std::string& type,
                              const Json::Value& object, const Json::Value& previous, const Origin& origin) {
  Json::Value ev = jobj();
  const std::string id = new_id("evt_");
  ev["id"] = id;
  ev["object"] = "event";
  ev["api_version"] = origin.api_version;
  ev["created"] = ji(now_s(st));
  Json::Value data = jobj();
  data["object"] = object;
  if (!previous.isNull()) data["previous_attributes"] = previous;
  ev["data"] = data;
  ev["livemode"] = false;
  int n_endpoints = 0;
  for (const auto& e : st.endpoints) if (endpoint_wants(e, type)) ++n_endpoints;
  ev["pending_webhooks"] = n_endpoints;
  Json::Value req = jobj();
  req["id"] = origin.request_id;
  req["idempotency_key"] = origin.idempotency_key;
  ev["request"] = req;
  ev["type"] = type;
  st.events[id] = ev;
  st.event_body[id] = json_pretty(ev);
  st.event_order.push_back(id);
  st.counters.n_events++;
  batch.push_back(id);
  return id;
}

/* Queues the first delivery of each new event to each subscribed endpoint,
 * as the delivery mode says. st.mu held. */
inline void dispatch_events(State& st, std::vector<std::string> batch) {
  if (batch.empty()) return;
  const std::string mode = st.delivery_mode;
  if (mode == "shuffle") {
    std::mt19937 rng(static_cast<uint32_t>(real_now_ms()));
    std::shuffle(batch.begin(), batch.end(), rng);
  }
  const int64_t now = real_now_ms();
  for (const auto& event_id : batch) {
    const std::string type = st.events[event_id]["type"].asString();
    for (const auto& e : st.endpoints) {
      if (!endpoint_wants(e, type)) continue;
      Delivery d;
      d.event_id = event_id;
      d.endpoint_id = e.id;
      d.due_real_ms = mode == "delay" ? now + st.delivery_delay_ms : now;
      d.epoch = st.epoch;
      if (mode == "hold") {
        st.held.push_back(d);
        continue;
      }
      st.queue.push_back(d);
      if (mode == "duplicate") st.queue.push_back(d);
    }
  }
  st.cv.notify_all();
}

/* Hands every held delivery to the queue in shuffled order. st.mu held.
 * Returns how many were released. */
inline size_t release_held(State& st) {
  std::mt19937 rng(static_cast<uint32_t>(real_now_ms()));
  std::shuffle(st.held.begin(), st.held.end(), rng);
  const size_t n = st.held.size();
  const int64_t now = real_now_ms();
  for (auto& d : st.held) {
    d.due_real_ms = now;
    st.queue.push_back(d);
  }
  st.held.clear();
  st.cv.notify_all();
  return n;
}

/* "t=<t>,v1=<hex>[,v1=<hex old secret>][,v0=<hex>]" over t + "." + body. */
inline std::string sign_payload(const Endpoint& e, int64_t t, const std::string& body) {
  const std::string signed_payload = std::to_string(t) + "." + body;
  std::string h = "t=" + std::to_string(t) + ",v1=" + coach::crypto::hmac_sha256_hex(e.secret, signed_payload);
  if (!e.old_secret.empty()) h += ",v1=" + coach::crypto::hmac_sha256_hex(e.old_secret, signed_payload);
  if (e.add_v0) h += ",v0=" + coach::crypto::random_hex(32);
  return h;
}

/* Splits an http(s) URL into scheme://host:port and the path (with query). */
inline std::pair<std::string, std::string> split_url(const std::string& url) {
  size_t scheme_end = url.find("://");
  size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find_first_of("/?#", scheme_end + 3);
  std::string base = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (size_t hash = path.find('#'); hash != std::string::npos) path.erase(hash);
  if (path.empty() || path[0] == '?') path = "/" + path;
  return {base, path};
}

/* Sends one delivery without the lock and records the attempt; a failure
 * (no answer, a timeout, any non-2xx including redirects) is retried up to
 * cfg.n_retries times after retry_base_ms * 2^(n-1). st.mu not held. */
inline void send_delivery(State& st, const Config& cfg, const Delivery& d) {
  Endpoint ep;
  std::string body, type;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (d.epoch != st.epoch) return;
    auto it = std::find_if(st.endpoints.begin(), st.endpoints.end(), [&](const Endpoint& e) { return e.id == d.endpoint_id; });
    auto b = st.event_body.find(d.event_id);
    if (it == st.endpoints.end() || b == st.event_body.end()) return;  // endpoint removed meanwhile
    ep = *it;
    body = b->second;
    type = st.events[d.event_id]["type"].asString();
  }
  const int64_t t = real_now_ms() / 1000;  // the receiver checks freshness against its real clock
  Attempt a;
  a.event_id = d.event_id;
  a.event_type = type;
  a.endpoint_id = ep.id;
  a.url = ep.url;
  a.attempt = d.attempt;
  a.redelivery = d.redelivery;
  a.body = body;
  a.headers = {{"Content-Type", "application/json; charset=utf-8"},
               {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
               {"Accept", "*/*; q=0.5, application/xml"},
               {"Cache-Control", "no-cache"},
               {"Stripe-Signature", sign_payload(ep, t, body)}};
  a.at_s = t;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto [base, path] = split_url(ep.url);
    httplib::Client cli(base);
    if (!cli.is_valid()) {
      a.error = "invalid endpoint URL";
    } else {
      const time_t secs = static_cast<time_t>(cfg.webhook_timeout_ms / 1000);
      const time_t usecs = static_cast<time_t>((cfg.webhook_timeout_ms % 1000) * 1000);
      cli.set_connection_timeout(secs, usecs);
      cli.set_read_timeout(secs, usecs);
      cli.set_write_timeout(secs, usecs);
      cli.set_follow_location(false);
      httplib::Headers hs;
      for (const auto& [k, v] : a.headers) if (k != "Content-Type") hs.emplace(k, v);
      auto res = cli.Post(path, hs, body, "application/json; charset=utf-8");
      if (res) a.status = res->status;
      else a.error = httplib::to_string(res.error());
    }
  } catch (const std::exception& e) {
    a.error = e.what();
  }
  a.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  const bool ok = a.status >= 200 && a.status < 300;
  a.outcome = ok ? "ok" : a.status == 0 ? "network_error" : "http_error";
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (d.epoch != st.epoch) return;
    (ok ? st.counters.n_deliveries_ok : st.counters.n_deliveries_failed)++;
    if (ok) {
      auto ev = st.events.find(d.event_id);
      if (ev != st.events.end() && ev->second["pending_webhooks"].asInt() > 0 && !d.redelivery) {
        ev->second["pending_webhooks"] = ev->second["pending_webhooks"].asInt() - 1;
      }
    } else if (!d.redelivery && d.attempt <= cfg.n_retries) {
      Delivery next = d;
      next.attempt = d.attempt + 1;
      next.due_real_ms = real_now_ms() + cfg.retry_base_ms * (int64_t{1} << (d.attempt - 1));
      st.queue.push_back(next);
      a.will_retry = true;
      st.cv.notify_all();
    }
    a.seq = st.next_attempt_seq++;
    st.attempts.push_back(std::move(a));
    while (st.attempts.size() > 2000) st.attempts.pop_front();
  }
  std::fprintf(stderr, "stripe_emulator: webhook %s %s %s attempt %d -> %s\n", d.event_id.c_str(), type.c_str(),
               ep.url.c_str(), d.attempt, ok ? "ok" : "failed");
}

/* Takes the next due delivery whose endpoint has no send in flight (so one
 * endpoint sees its deliveries one at a time, in queue order, and a slow
 * endpoint holds up no other); next_due says when to look again. st.mu held. */
inline std::optional<Delivery> take_due(State& st, int64_t& next_due) {
  st.queue.erase(std::remove_if(st.queue.begin(), st.queue.end(), [&](const Delivery& d) { return d.epoch != st.epoch; }),
                 st.queue.end());
  const int64_t now = real_now_ms();
  next_due = now + 500;
  size_t best = st.queue.size();
  for (size_t i = 0; i < st.queue.size(); ++i) {
    const Delivery& d = st.queue[i];
    if (st.busy_endpoints.count(d.endpoint_id)) continue;
    if (d.due_real_ms > now) { next_due = std::min(next_due, d.due_real_ms); continue; }
    if (best == st.queue.size() || d.due_real_ms < st.queue[best].due_real_ms) best = i;
  }
  if (best == st.queue.size()) return std::nullopt;
  Delivery out = st.queue[best];
  st.queue.erase(st.queue.begin() + static_cast<std::ptrdiff_t>(best));
  st.busy_endpoints.insert(out.endpoint_id);
  return out;
}

/* One sender thread: sends due deliveries until st.stop. Several run side by
 * side; busy_endpoints keeps each endpoint's sends sequential. */
inline void run_sender(State& st, const Config& cfg) {
  std::unique_lock<std::mutex> lock(st.mu);
  while (!st.stop) {
    int64_t next_due = 0;
    if (auto d = take_due(st, next_due)) {
      lock.unlock();
      send_delivery(st, cfg, *d);
      lock.lock();
      st.busy_endpoints.erase(d->endpoint_id);
      st.cv.notify_all();
      continue;
    }
    st.cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, next_due - real_now_ms())));
  }
}

}  // namespace stripe_emu
