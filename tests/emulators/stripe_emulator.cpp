/* stripe_emulator.cpp: a local emulator of the Stripe API subset a booking
 * flow needs, serving real HTTP on 127.0.0.1 for local mode and integration
 * tests. Behaviour follows shared/reference/payments-zoom-auth-email.md §1
 * and §5.1; the parts:
 *   stripe_core.hpp      config, state, envelopes, bracket-path forms, money
 *   stripe_webhooks.hpp  events, signed webhook delivery with retries
 *   stripe_api.hpp       /v1 checkout sessions, payment intents, charges,
 *                        refunds, invoices, events; pay/decline/expire flows
 *   stripe_pages.hpp     hosted checkout page, receipts, invoices
 *   stripe_control.hpp   /_emulator/ test controls
 * This file parses the flags, holds the route table, runs the request
 * pipeline (auth, form decoding, Idempotency-Key, faults) and the server
 * (through emu::serve, emu_common.hpp), the webhook sender threads and the
 * expiry sweeper. Every handler runs under State::mu; webhook HTTP sends
 * happen without it. */
#include <iostream>
#include <regex>
#include <thread>

#include "stripe_control.hpp"

namespace stripe_emu {

/* ----------------------------------------------------------------- flags */

inline const char* k_usage =
    "usage: stripe_emulator --secret-key sk_test_... [options]\n"
    "  --port N                 listen port (default 0: any free port, printed on stdout)\n"
    "  --host H                 listen address (default 127.0.0.1)\n"
    "  --secret-key K           an accepted API key (repeatable, at least one)\n"
    "  --webhook-url URL        the default webhook endpoint (all events)\n"
    "  --webhook-secret S       its signing secret (whsec_...), required with --webhook-url\n"
    "  --old-webhook-secret S   also sign with this secret (a second v1, as during a roll)\n"
    "  --api-version V          API version of events when the client pins none (default 2026-10-28.endive)\n"
    "  --base-url URL           how browsers reach this emulator (default http://HOST:PORT)\n"
    "  --webhook-timeout-ms N   webhook send timeout (default 10000)\n"
    "  --retry-base-ms N        first webhook retry delay; then x2 each time (default 1000)\n"
    "  --retries N              webhook retries after the first attempt (default 3)\n"
    "  --refund-status S        status of new refunds: succeeded (default) or pending\n"
    "  --threads N              HTTP worker threads (default 16)\n";

inline Config parse_flags(int argc, char** argv) {
  Config cfg;
  emu::FlagReader flags(argc, argv, "stripe_emulator", k_usage);
  while (flags.next()) {
    const std::string& arg = flags.flag();
    auto need_int = [&](int64_t lo, int64_t hi) -> int64_t {
      std::string v = flags.value();
      if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
        flags.die(arg + " must be an integer, got \"" + v + "\"");
      }
      int64_t n = std::stoll(v);
      if (n < lo || n > hi) flags.die(arg + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return n;
    };
    if (flags.asks_help()) {
      flags.print_usage_and_exit();
    } else if (arg == "--port") {
      cfg.port = static_cast<int>(need_int(0, 65535));
    } else if (arg == "--host") {
      cfg.host = flags.value();
    } else if (arg == "--secret-key") {
      std::string k = flags.value();
      if (k.empty() || k.find_first_of(" \t\r\n:") != std::string::npos) flags.die("--secret-key must be a key without spaces or ':'");
      cfg.secret_keys.push_back(k);
    } else if (arg == "--webhook-url") {
      cfg.webhook_url = flags.value();
      if (!is_valid_url(cfg.webhook_url)) flags.die("--webhook-url must be an http(s) URL");
    } else if (arg == "--webhook-secret") {
      cfg.webhook_secret = flags.value();
    } else if (arg == "--old-webhook-secret") {
      cfg.old_webhook_secret = flags.value();
    } else if (arg == "--api-version") {
      cfg.api_version = flags.value();
    } else if (arg == "--base-url") {
      cfg.base_url = flags.value();
      if (!is_valid_url(cfg.base_url)) flags.die("--base-url must be an http(s) URL");
      while (!cfg.base_url.empty() && cfg.base_url.back() == '/') cfg.base_url.pop_back();
    } else if (arg == "--webhook-timeout-ms") {
      cfg.webhook_timeout_ms = need_int(100, 120000);
    } else if (arg == "--retry-base-ms") {
      cfg.retry_base_ms = need_int(1, 3600000);
    } else if (arg == "--retries") {
      cfg.n_retries = static_cast<int>(need_int(0, 10));
    } else if (arg == "--refund-status") {
      cfg.refund_status = flags.value();
      if (cfg.refund_status != "succeeded" && cfg.refund_status != "pending") {
        flags.die("--refund-status must be succeeded or pending");
      }
    } else if (arg == "--threads") {
      cfg.n_threads = static_cast<int>(need_int(1, 256));
    } else {
      flags.die("unknown argument \"" + arg + "\"");
    }
  }
  if (cfg.secret_keys.empty()) flags.die("at least one --secret-key is required");
  if (!cfg.webhook_url.empty() && cfg.webhook_secret.empty()) flags.die("--webhook-url needs --webhook-secret");
  return cfg;
}

/* --------------------------------------------------------------- routing */

using Handler = std::function<Reply(Call&)>;
struct Route {
  std::string method;
  std::regex pattern;
  Handler handler;
};

inline std::vector<Route> build_routes() {
  const std::string seg = "([^/]+)";
  std::vector<Route> r;
  auto add = [&](const char* method, const std::string& pattern, Handler h) {
    r.push_back(Route{method, std::regex(pattern), std::move(h)});
  };
  // Stripe API (§1).
  add("POST", "/v1/checkout/sessions", handle_create_session);
  add("GET", "/v1/checkout/sessions", handle_list_sessions);
  add("GET", "/v1/checkout/sessions/" + seg, handle_get_session);
  add("GET", "/v1/checkout/sessions/" + seg + "/line_items", handle_get_line_items);
  add("POST", "/v1/checkout/sessions/" + seg + "/expire", handle_expire_session);
  add("GET", "/v1/payment_intents/" + seg, handle_get_payment_intent);
  add("POST", "/v1/payment_intents/" + seg + "/confirm", handle_pi_action_refused);
  add("POST", "/v1/payment_intents/" + seg + "/cancel", handle_pi_action_refused);
  add("GET", "/v1/charges/" + seg, handle_get_charge);
  add("POST", "/v1/refunds", handle_create_refund);
  add("GET", "/v1/refunds", handle_list_refunds);
  add("GET", "/v1/refunds/" + seg, handle_get_refund);
  add("GET", "/v1/invoices/" + seg, handle_get_invoice);
  add("GET", "/v1/events", handle_list_events);
  add("GET", "/v1/events/" + seg, handle_get_event);
  // Browser pages (checkout.stripe.com / pay.stripe.com stand-ins).
  add("GET", "/pay/" + seg, handle_pay_page);
  add("POST", "/pay/" + seg, handle_pay_submit);
  add("GET", "/receipts/" + seg, handle_receipt_page);
  add("GET", "/invoices/" + seg, handle_invoice_page);
  add("GET", "/invoices/" + seg + "/pdf", handle_invoice_page);
  // Test controls (not Stripe).
  add("GET", "/_emulator/health", handle_health);
  add("POST", "/_emulator/reset", handle_reset);
  add("GET", "/_emulator/state", handle_state);
  add("POST", "/_emulator/checkout/" + seg + "/pay", handle_control_pay);
  add("POST", "/_emulator/checkout/" + seg + "/expire", handle_control_expire);
  add("GET", "/_emulator/clock", handle_control_clock);
  add("POST", "/_emulator/clock", handle_control_clock);
  add("POST", "/_emulator/refunds/" + seg + "/status", handle_control_refund_status);
  add("GET", "/_emulator/refund-default-status", handle_control_refund_default);
  add("POST", "/_emulator/refund-default-status", handle_control_refund_default);
  add("GET", "/_emulator/faults", handle_control_faults);
  add("POST", "/_emulator/faults", handle_control_faults);
  add("DELETE", "/_emulator/faults", handle_control_faults);
  add("GET", "/_emulator/delivery-mode", handle_control_delivery_mode);
  add("POST", "/_emulator/delivery-mode", handle_control_delivery_mode);
  add("POST", "/_emulator/deliveries/release", handle_control_release);
  add("GET", "/_emulator/deliveries", handle_control_deliveries);
  add("DELETE", "/_emulator/deliveries", handle_control_deliveries);
  add("POST", "/_emulator/events/" + seg + "/redeliver", handle_control_redeliver);
  add("GET", "/_emulator/webhook-endpoints", handle_control_endpoints);
  add("POST", "/_emulator/webhook-endpoints", handle_control_endpoints);
  add("DELETE", "/_emulator/webhook-endpoints/" + seg, handle_control_endpoints);
  return r;
}

/* ---------------------------------------------------------------- server */

class Server {
 public:
  Server(const Config& cfg, State& st) : cfg_(cfg), st_(st), routes_(build_routes()) {}

  void serve(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string path = req.path;
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    Call c{req, {}, st_, cfg_, "req_" + random_base62(14), "", "", cfg_.api_version, jobj(), cfg_.base_url, {}};
    Reply reply;
    bool drop = false;
    try {
      if (starts_with(path, "/v1/") || path == "/v1") {
        reply = serve_api(c, method, path, drop);
      } else {
        reply = serve_other(c, method, path);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stripe_emulator: exception in %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
      reply = stripe_error(c, 500, "api_error", "", "", "An unknown error occurred in the Stripe emulator.");
    }
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    res.set_header("Request-Id", c.request_id);
    if (drop) {
      // Processed and stored, but the client never gets the body: headers go
      // out with a Content-Length, then the connection is cut.
      const size_t n = reply.body.size();
      res.set_content_provider(n, reply.content_type, [](size_t, size_t, httplib::DataSink&) { return false; });
    } else {
      res.set_content(reply.body, reply.content_type);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "stripe_emulator: %s %s %d %s %.1fms%s\n", req.method.c_str(), path.c_str(), reply.status,
                 c.request_id.c_str(), ms, drop ? " (dropped)" : "");
  }

 private:
  const Route* match(const std::string& method, const std::string& path, std::vector<std::string>& params,
                     bool& path_known) const {
    path_known = false;
    for (const auto& r : routes_) {
      std::smatch m;
      if (!std::regex_match(path, m, r.pattern)) continue;
      path_known = true;
      if (r.method != method) continue;
      for (size_t i = 1; i < m.size(); ++i) params.push_back(m[i].str());
      return &r;
    }
    return nullptr;
  }

  /* Pages and controls: no auth, no idempotency. */
  Reply serve_other(Call& c, const std::string& method, const std::string& path) {
    bool known = false;
    const Route* r = match(method, path, c.params, known);
    if (!r) {
      if (starts_with(path, "/_emulator/")) return control_error(known ? 405 : 404, "unknown control endpoint " + method + " " + path);
      return html_reply(404, "Not found", "<h1>Not found</h1><p>" + text(method + " " + path) + "</p>");
    }
    std::lock_guard<std::mutex> lock(st_.mu);
    Reply reply = r->handler(c);
    dispatch_events(st_, std::move(c.new_events));
    return reply;
  }

  /* §5.1 steps 1-4: auth, form decoding, routing, Idempotency-Key, faults. */
  Reply serve_api(Call& c, const std::string& method, const std::string& path, bool& drop) {
    std::optional<Fault> fault;
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      st_.counters.n_requests++;
      fault = emu::take_fault(st_, method, path);
    }
    Reply r = api_pipeline(c, method, path, fault, drop);
    r.headers.emplace_back("Stripe-Version", c.api_version);
    if (!c.idempotency_key.empty()) r.headers.emplace_back("Idempotency-Key", c.idempotency_key);
    return r;
  }

  Reply api_pipeline(Call& c, const std::string& method, const std::string& path, const std::optional<Fault>& fault,
                     bool& drop) {
    if (fault && fault->kind == "500") {
      Reply r = stripe_error(c, 500, "api_error", "", "", "An unknown error occurred (emulated fault).");
      r.headers.emplace_back("Stripe-Should-Retry", fault->should_retry ? "true" : "false");
      return r;
    }
    if (fault && fault->kind == "429") {
      return stripe_error(c, 429, "invalid_request_error", "rate_limit", "",
                          "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits. (emulated fault)");
    }
    if (fault && fault->kind == "409") {
      Reply r = stripe_error(c, 409, "invalid_request_error", "lock_timeout", "",
                             "This object cannot be accessed right now because another API request or Stripe process "
                             "is currently accessing it. (emulated fault)");
      r.headers.emplace_back("Stripe-Should-Retry", "true");
      return r;
    }
    if (auto err = authenticate(c)) return *err;
    // Stripe-Version: YYYY-MM-DD with an optional .name
    if (c.req.has_header("Stripe-Version")) {
      static const std::regex version_re("\\d{4}-\\d{2}-\\d{2}(\\.[a-z_]+)?");
      const std::string v = c.header("Stripe-Version");
      if (!std::regex_match(v, version_re)) {
        return stripe_error(c, 400, "invalid_request_error", "", "", "Invalid Stripe API version: " + v);
      }
      c.api_version = v;
    }
    // Parameters: the query string of a GET, the form body of a POST.
    if (method == "POST") {
      const std::string ctype = to_lower(c.header("Content-Type"));
      const size_t first = c.req.body.find_first_not_of(" \t\r\n");
      const bool json_body = ctype.find("json") != std::string::npos ||
                             (first != std::string::npos && (c.req.body[first] == '{' || c.req.body[first] == '['));
      if (json_body) {
        return invalid(c, "", "",
                       "Invalid request: Stripe takes application/x-www-form-urlencoded bodies (bracket paths for "
                       "nested values), not JSON.");
      }
      if (!c.req.body.empty() && !ctype.empty() && ctype.find("application/x-www-form-urlencoded") == std::string::npos) {
        return invalid(c, "", "", "Invalid request: unsupported Content-Type " + c.header("Content-Type") +
                                      "; use application/x-www-form-urlencoded.");
      }
      if (auto err = decode_form(c.req.body, c.form)) return invalid(c, "", "", *err);
    } else {
      const size_t q = c.req.target.find('?');
      if (q != std::string::npos) {
        if (auto err = decode_form(c.req.target.substr(q + 1), c.form)) return invalid(c, "", "", *err);
      }
    }
    bool known = false;
    const Route* route = match(method, path, c.params, known);
    if (!route) {
      return stripe_error(c, 404, "invalid_request_error", "", "",
                          "Unrecognized request URL (" + method + ": " + path +
                              "). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");
    }
    // Idempotency (§1.6): every POST with a key.
    std::string idem_slot;
    if (method == "POST" && c.req.has_header("Idempotency-Key")) {
      c.idempotency_key = c.header("Idempotency-Key");
      if (c.idempotency_key.empty() || c.idempotency_key.size() > 255) {
        return invalid(c, "", "", "Invalid Idempotency-Key: it must be 1 to 255 characters long.");
      }
      idem_slot = c.api_key + "\n" + c.idempotency_key;
      const std::string method_path = method + " " + path;
      const std::string hash = coach::crypto::hex_encode(coach::crypto::sha256(json_compact(c.form)));
      std::lock_guard<std::mutex> lock(st_.mu);
      auto it = st_.idempotency.find(idem_slot);
      if (it != st_.idempotency.end() && now_ms(st_) - it->second.created_ms > 24LL * 3600 * 1000) {
        st_.idempotency.erase(it);  // pruned after 24 h: runs as a new request
        it = st_.idempotency.end();
      }
      if (it != st_.idempotency.end()) {
        if (it->second.in_flight) {
          st_.counters.n_idempotency_in_flight++;
          Reply r = stripe_error(c, 409, "idempotency_error", "idempotency_key_in_use", "",
                                 "There is currently another in-progress request using this Idempotent Key (that "
                                 "probably means you submitted twice, and the other request is still going through): " +
                                     c.idempotency_key + ". Please try again later.");
          r.headers.emplace_back("Stripe-Should-Retry", "true");
          return r;
        }
        if (it->second.method_path != method_path || it->second.params_hash != hash) {
          st_.counters.n_idempotency_conflicts++;
          return stripe_error(c, 400, "idempotency_error", "", "",
                              "Keys for idempotent requests can only be used with the same parameters they were "
                              "first used with. Try using a key other than '" + c.idempotency_key +
                                  "' if you meant to execute a different request.");
        }
        st_.counters.n_idempotent_replays++;
        Reply r;
        r.status = it->second.status;
        r.body = it->second.body;
        r.headers.emplace_back("Idempotent-Replayed", "true");
        r.headers.emplace_back("Original-Request", it->second.original_request_id);
        return r;
      }
      IdemEntry e;
      e.method_path = method_path;
      e.params_hash = hash;
      e.created_ms = now_ms(st_);
      e.original_request_id = c.request_id;
      st_.idempotency[idem_slot] = e;
    }
    if (fault && fault->kind == "slow" && fault->delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
    }
    Reply reply;
    {
      std::lock_guard<std::mutex> lock(st_.mu);
      try {
        sweep_expired(st_, cfg_, c.new_events);
        reply = route->handler(c);
      } catch (...) {
        if (!idem_slot.empty()) st_.idempotency.erase(idem_slot);
        throw;
      }
      dispatch_events(st_, std::move(c.new_events));
      if (!idem_slot.empty()) {
        auto it = st_.idempotency.find(idem_slot);
        if (it != st_.idempotency.end()) {
          if (reply.store_idempotent) {
            it->second.in_flight = false;
            it->second.status = reply.status;
            it->second.body = reply.body;
          } else {
            st_.idempotency.erase(it);  // failed validation: not kept, the key is free again
          }
        }
      }
    }
    if (fault && fault->kind == "drop") drop = true;
    return reply;
  }

  /* §5.1 step 1: Bearer or Basic (key as user name). */
  std::optional<Reply> authenticate(Call& c) {
    const std::string auth = c.header("Authorization");
    std::string key;
    const size_t sp = auth.find(' ');
    const std::string scheme = to_lower(auth.substr(0, sp));
    const std::string cred = sp == std::string::npos ? "" : auth.substr(sp + 1);
    if (scheme == "bearer") {
      key = cred;
    } else if (scheme == "basic") {
      auto decoded = coach::crypto::base64_decode(cred);
      if (decoded) key = decoded->substr(0, decoded->find(':'));
    }
    while (!key.empty() && key.back() == ' ') key.pop_back();
    std::lock_guard<std::mutex> lock(st_.mu);
    if (key.empty()) {
      st_.counters.n_auth_failures++;
      Reply r = stripe_error(c, 401, "invalid_request_error", "", "",
                             "You did not provide an API key. You need to provide your API key in the Authorization "
                             "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                             "https://stripe.com/docs/api#authentication for details, or we can help at "
                             "https://support.stripe.com/.");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Stripe\"");
      return r;
    }
    if (std::find(cfg_.secret_keys.begin(), cfg_.secret_keys.end(), key) == cfg_.secret_keys.end()) {
      st_.counters.n_auth_failures++;
      Reply r = stripe_error(c, 401, "invalid_request_error", "", "", "Invalid API Key provided: " + mask_key(key));
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Stripe\"");
      return r;
    }
    c.api_key = key;
    return std::nullopt;
  }

  const Config& cfg_;
  State& st_;
  const std::vector<Route> routes_;
};

}  // namespace stripe_emu

int main(int argc, char** argv) {
  using namespace stripe_emu;
  Config cfg = parse_flags(argc, argv);
  State st;

  Server server(cfg, st);
  emu::ServeSpec spec;
  spec.name = "stripe_emulator";
  spec.host = cfg.host;
  spec.port = cfg.port;
  spec.n_threads = cfg.n_threads;
  // Stripe has no PATCH/PUT: those keep httplib's own answer.
  spec.bodyless_methods = {"POST", "DELETE"};
  spec.handle = [&server](const httplib::Request& req, httplib::Response& res) { server.serve(req, res); };
  spec.fill_error = [](const httplib::Request&, httplib::Response& res) {
    Json::Value e = jobj();
    e["type"] = "invalid_request_error";
    e["message"] = res.status == 413 ? "Request body too large" : "Bad request";
    Json::Value env = jobj();
    env["error"] = e;
    res.set_content(json_pretty(env) + "\n", "application/json");
  };
  // The state's URLs (hosted pages, receipts) need the chosen port.
  spec.on_bound = [&cfg, &st](int port) {
    if (cfg.base_url.empty()) cfg.base_url = "http://" + cfg.host + ":" + std::to_string(port);
    reset_state(st, cfg);
  };
  for (int i = 0; i < 4; ++i) spec.workers.push_back([&st, &cfg] { run_sender(st, cfg); });
  // Stripe's expiry job: open sessions past expires_at expire on their own.
  spec.workers.push_back([&st, &cfg] {
    std::unique_lock<std::mutex> lock(st.mu);
    while (!st.stop) {
      std::vector<std::string> batch;
      sweep_expired(st, cfg, batch);
      dispatch_events(st, std::move(batch));
      st.cv.wait_for(lock, std::chrono::milliseconds(1000));
    }
  });
  spec.stop_workers = [&st] {
    std::lock_guard<std::mutex> lock(st.mu);
    st.stop = true;
    st.cv.notify_all();
  };
  return emu::serve(spec);
}
