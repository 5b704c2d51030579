/* calcom_emulator.cpp: a local emulator of Cal.com API v2 ("Platform": an
 * OAuth client of an organisation and its managed users), serving real HTTP on
 * 127.0.0.1 for integration tests. Behaviour follows
 * shared/reference/calcom-api-v2.md; see calcom_*.hpp for each part:
 *   calcom_core.hpp     config, state, envelopes, helpers
 *   calcom_auth.hpp     tokens, client credentials, Bearer tokens
 *   calcom_users.hpp    managed users, refresh, /v2/me
 *   calcom_oauth2.hpp   standard OAuth2 (consent page, token endpoint)
 *   calcom_schedules.hpp    /v2/schedules (availability)
 *   calcom_event_types.hpp  /v2/event-types
 *   calcom_slots.hpp        /v2/slots and slot reservations (slot engine)
 *   calcom_bookings.hpp     /v2/bookings
 *   calcom_webhooks.hpp     webhooks: management, payloads, delivery, MEETING_* jobs
 *   calcom_control.hpp  /_emulator/ test control API (reset, faults, clock, ...)
 * This file parses the flags, holds the route table and runs the server
 * (through emu::serve, emu_common.hpp) and the webhook worker thread. Every
 * handler runs under State::mu, so the server is race-free with httplib's
 * thread pool; webhook HTTP sends happen after the lock is released. One log
 * line per request goes to stderr. */
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <thread>

#include "calcom_bookings.hpp"
#include "calcom_control.hpp"
#include "calcom_oauth2.hpp"
#include "calcom_users.hpp"

namespace calcom_emu {

/* ----------------------------------------------------------------- flags */

inline const char* k_usage =
    "usage: calcom_emulator --client-id ID --client-secret S [options]\n"
    "  --port N                  listen port (default 0: any free port, printed on stdout)\n"
    "  --host H                  listen address (default 127.0.0.1)\n"
    "  --client-id ID            platform OAuth client id (required)\n"
    "  --client-secret S         platform OAuth client secret (required)\n"
    "  --redirect-uri URL        OAuth client redirect URI, also the allowed Origin prefixes\n"
    "                            (repeatable)\n"
    "  --access-ttl-s N          managed-user access token TTL (default 3600)\n"
    "  --refresh-ttl-s N         managed-user refresh token TTL (default 31536000)\n"
    "  --organization-id N       id of the client's organisation (default 1)\n"
    "  --no-organization         the client has no organisation (creating users -> 400)\n"
    "  --oauth2-client-id ID     standard OAuth2 client id\n"
    "  --oauth2-client-secret S  standard OAuth2 client secret\n"
    "  --oauth2-redirect-uri URL standard OAuth2 registered redirect URI (exact match)\n"
    "  --oauth2-access-ttl-s N   standard OAuth2 access token TTL (default 1800)\n"
    "  --oauth2-refresh-ttl-s N  standard OAuth2 refresh token TTL (default 2592000)\n"
    "  --rate-limit-per-min N    throttle /v2 requests per credential (default 0: off)\n"
    "  --threads N               HTTP worker threads (default 32)\n";

/* Parses argv into a Config; any bad or missing flag exits with status 2. */
inline Config parse_flags(int argc, char** argv) {
  Config cfg;
  bool saw_oauth2 = false;
  emu::FlagReader flags(argc, argv, "calcom_emulator", k_usage);
  while (flags.next()) {
    const std::string& arg = flags.flag();
    auto need_int = [&](int64_t lo, int64_t hi) -> int64_t {
      std::string v = flags.value();
      int64_t n = 0;
      if (!parse_int64(v, n) || n < lo || n > hi) {
        flags.die(arg + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  "], got \"" + v + "\"");
      }
      return n;
    };
    auto need_url = [&]() -> std::string {
      std::string v = flags.value();
      if (!is_http_url(v)) flags.die(arg + " must be an http(s) URL, got \"" + v + "\"");
      return v;
    };
    if (flags.asks_help()) {
      flags.print_usage_and_exit();
    } else if (arg == "--port") {
      cfg.port = static_cast<int>(need_int(0, 65535));
    } else if (arg == "--host") {
      cfg.host = flags.value();
    } else if (arg == "--client-id") {
      cfg.client_id = flags.value();
    } else if (arg == "--client-secret") {
      cfg.client_secret = flags.value();
    } else if (arg == "--redirect-uri") {
      cfg.redirect_uris.push_back(need_url());
    } else if (arg == "--access-ttl-s") {
      cfg.access_ttl_s = need_int(1, 10LL * 365 * 24 * 3600);
    } else if (arg == "--refresh-ttl-s") {
      cfg.refresh_ttl_s = need_int(1, 10LL * 365 * 24 * 3600);
    } else if (arg == "--organization-id") {
      cfg.organization_id = need_int(1, 1LL << 40);
    } else if (arg == "--no-organization") {
      flags.no_value();
      cfg.has_organization = false;
    } else if (arg == "--oauth2-client-id") {
      cfg.oauth2_client_id = flags.value();
      saw_oauth2 = true;
    } else if (arg == "--oauth2-client-secret") {
      cfg.oauth2_client_secret = flags.value();
      saw_oauth2 = true;
    } else if (arg == "--oauth2-redirect-uri") {
      cfg.oauth2_redirect_uri = need_url();
      saw_oauth2 = true;
    } else if (arg == "--oauth2-access-ttl-s") {
      cfg.oauth2_access_ttl_s = need_int(1, 10LL * 365 * 24 * 3600);
    } else if (arg == "--oauth2-refresh-ttl-s") {
      cfg.oauth2_refresh_ttl_s = need_int(1, 10LL * 365 * 24 * 3600);
    } else if (arg == "--rate-limit-per-min") {
      cfg.rate_limit_per_min = static_cast<int>(need_int(0, 1000000));
    } else if (arg == "--threads") {
      cfg.n_threads = static_cast<int>(need_int(1, 1024));
    } else {
      flags.die("unknown argument \"" + arg + "\"");
    }
  }
  if (cfg.client_id.empty()) flags.die("--client-id is required");
  if (cfg.client_secret.empty()) flags.die("--client-secret is required");
  if (cfg.client_id.find_first_of("/?#% ") != std::string::npos) {
    flags.die("--client-id must not contain '/', '?', '#', '%' or spaces");
  }
  if (saw_oauth2 && (cfg.oauth2_client_id.empty() || cfg.oauth2_client_secret.empty() ||
                     cfg.oauth2_redirect_uri.empty())) {
    flags.die("--oauth2-client-id, --oauth2-client-secret and --oauth2-redirect-uri go together");
  }
  bool cuid_like = cfg.client_id.size() == 25;
  for (unsigned char ch : cfg.client_id) if (!std::isalnum(ch)) cuid_like = false;
  if (!cuid_like) {
    std::cerr << "calcom_emulator: warning: real client ids are 25 alphanumerics (a cuid); "
                 "displayEmail stripping relies on that\n";
  }
  return cfg;
}

/* --------------------------------------------------------------- routing */

using Handler = std::function<Reply(Call&)>;

struct Route {
  std::string method;  // GET, POST, PATCH, DELETE, PUT
  std::regex pattern;  // whole path; captures become Call::params
  Handler handler;
};

/* The route table. New endpoint families (schedules, event types, slots,
 * bookings, webhooks) add their rows here. */
inline std::vector<Route> build_routes() {
  const std::string seg = "([^/]+)";
  std::vector<Route> r;
  auto add = [&](const char* method, const std::string& pattern, Handler h) {
    r.push_back(Route{method, std::regex(pattern), std::move(h)});
  };
  // Managed users (§1.2) and token refresh (§1.3).
  add("POST", "/v2/oauth-clients/" + seg + "/users", handle_create_managed_user);
  add("GET", "/v2/oauth-clients/" + seg + "/users", handle_list_managed_users);
  add("GET", "/v2/oauth-clients/" + seg + "/users/" + seg, handle_get_managed_user);
  add("PATCH", "/v2/oauth-clients/" + seg + "/users/" + seg, handle_patch_managed_user);
  add("DELETE", "/v2/oauth-clients/" + seg + "/users/" + seg, handle_delete_managed_user);
  add("POST", "/v2/oauth-clients/" + seg + "/users/" + seg + "/force-refresh", handle_force_refresh);
  add("POST", "/v2/oauth/" + seg + "/refresh", handle_refresh);
  // Me (§1.6).
  add("GET", "/v2/me", handle_get_me);
  add("PATCH", "/v2/me", handle_patch_me);
  // Standard OAuth2 (§1.7).
  add("GET", "/auth/oauth2/authorize", handle_authorize_page);
  add("POST", "/auth/oauth2/authorize", handle_authorize_decision);
  add("POST", "/v2/auth/oauth2/token", handle_oauth2_token);
  add("GET", "/v2/auth/oauth2/clients/" + seg, handle_oauth2_client);
  // Schedules (§3, cal-api-version 2024-06-11 / 2024-06-14).
  add("POST", "/v2/schedules", handle_create_schedule);
  add("GET", "/v2/schedules", handle_list_schedules);
  add("GET", "/v2/schedules/default", handle_get_default_schedule);
  add("GET", "/v2/schedules/" + seg, handle_get_schedule);
  add("PATCH", "/v2/schedules/" + seg, handle_patch_schedule);
  add("DELETE", "/v2/schedules/" + seg, handle_delete_schedule);
  // Event types (§4, 2024-06-14).
  add("POST", "/v2/event-types", handle_create_event_type);
  add("GET", "/v2/event-types", handle_list_event_types);
  add("GET", "/v2/event-types/" + seg, handle_get_event_type);
  add("PATCH", "/v2/event-types/" + seg, handle_patch_event_type);
  add("DELETE", "/v2/event-types/" + seg, handle_delete_event_type);
  // Slots and reservations (§5, 2024-09-04).
  add("GET", "/v2/slots", handle_get_slots);
  add("POST", "/v2/slots/reservations", handle_reserve_slot);
  add("GET", "/v2/slots/reservations/" + seg, handle_get_reservation);
  add("PATCH", "/v2/slots/reservations/" + seg, handle_update_reservation);
  add("DELETE", "/v2/slots/reservations/" + seg, handle_delete_reservation);
  // Bookings (§6, 2024-08-13).
  add("POST", "/v2/bookings", handle_create_booking);
  add("GET", "/v2/bookings", handle_list_bookings);
  add("GET", "/v2/bookings/" + seg, handle_get_booking);
  add("POST", "/v2/bookings/" + seg + "/cancel", handle_cancel_booking);
  add("POST", "/v2/bookings/" + seg + "/reschedule", handle_reschedule_booking);
  add("POST", "/v2/bookings/" + seg + "/mark-absent", handle_mark_absent);
  add("POST", "/v2/bookings/" + seg + "/confirm", handle_confirm_booking);
  add("POST", "/v2/bookings/" + seg + "/decline", handle_decline_booking);
  add("PATCH", "/v2/bookings/" + seg + "/location", handle_update_booking_location);
  // Webhooks (§7.1): OAuth-client, user and event-type scope.
  add("POST", "/v2/oauth-clients/" + seg + "/webhooks", handle_create_oauth_client_webhook);
  add("GET", "/v2/oauth-clients/" + seg + "/webhooks", handle_list_oauth_client_webhooks);
  add("DELETE", "/v2/oauth-clients/" + seg + "/webhooks", handle_delete_all_oauth_client_webhooks);
  add("GET", "/v2/oauth-clients/" + seg + "/webhooks/" + seg, handle_get_oauth_client_webhook);
  add("PATCH", "/v2/oauth-clients/" + seg + "/webhooks/" + seg, handle_patch_oauth_client_webhook);
  add("DELETE", "/v2/oauth-clients/" + seg + "/webhooks/" + seg, handle_delete_oauth_client_webhook);
  add("POST", "/v2/webhooks", handle_create_user_webhook);
  add("GET", "/v2/webhooks", handle_list_user_webhooks);
  add("GET", "/v2/webhooks/" + seg, handle_get_user_webhook);
  add("PATCH", "/v2/webhooks/" + seg, handle_patch_user_webhook);
  add("DELETE", "/v2/webhooks/" + seg, handle_delete_user_webhook);
  add("POST", "/v2/event-types/" + seg + "/webhooks", handle_create_event_type_webhook);
  add("GET", "/v2/event-types/" + seg + "/webhooks", handle_list_event_type_webhooks);
  add("DELETE", "/v2/event-types/" + seg + "/webhooks", handle_delete_all_event_type_webhooks);
  add("GET", "/v2/event-types/" + seg + "/webhooks/" + seg, handle_get_event_type_webhook);
  add("PATCH", "/v2/event-types/" + seg + "/webhooks/" + seg, handle_patch_event_type_webhook);
  add("DELETE", "/v2/event-types/" + seg + "/webhooks/" + seg, handle_delete_event_type_webhook);
  // Test control (not Cal.com).
  add("POST", "/_emulator/reset", handle_control_reset);
  add("POST", "/_emulator/faults", handle_control_add_fault);
  add("GET", "/_emulator/faults", handle_control_list_faults);
  add("DELETE", "/_emulator/faults", handle_control_clear_faults);
  add("POST", "/_emulator/expire-access-tokens", handle_control_expire_tokens);
  add("GET", "/_emulator/state", handle_control_state);
  add("POST", "/_emulator/clock", handle_control_clock);
  add("POST", "/_emulator/connect-app", handle_control_connect_app);
  add("POST", "/_emulator/webhook-mode", handle_control_webhook_mode);
  add("GET", "/_emulator/webhook-mode", handle_control_get_webhook_mode);
  add("GET", "/_emulator/deliveries", handle_control_deliveries);
  add("DELETE", "/_emulator/deliveries", handle_control_clear_deliveries);
  add("POST", "/_emulator/deliveries/redeliver", handle_control_redeliver);
  add("POST", "/_emulator/webhooks/fire", handle_control_fire_webhook);
  add("GET", "/_emulator/health", handle_control_health);
  return r;
}

/* The key a request is throttled under: its Bearer token, else its client
 * id, else its address. */
inline std::string throttle_key(const Call& c, const std::vector<std::string>& params,
                                const std::string& path) {
  std::string auth = c.header("Authorization");
  if (!auth.empty()) return "token:" + auth;
  std::string client = c.header("x-cal-client-id");
  if (client.empty() && starts_with(path, "/v2/oauth") && !params.empty()) client = params[0];
  if (!client.empty()) return "client:" + client;
  return "ip:" + c.req.remote_addr;
}

/* Counts the request against its 60 s window; a 429 ThrottlerException reply
 * when over the limit. Adds the X-RateLimit-*-Default headers either way.
 * Precondition: st.mu held, cfg.rate_limit_per_min > 0. */
inline std::optional<Reply> throttle(Call& c, const std::string& key,
                                     std::vector<std::pair<std::string, std::string>>& headers) {
  const int limit = c.cfg.rate_limit_per_min;
  RateWindow& w = c.st.rate_windows[key];
  if (c.now_ms - w.window_start_ms >= 60000) { w.window_start_ms = c.now_ms; w.n_used = 0; }
  ++w.n_used;
  const int64_t reset_s = (w.window_start_ms + 60000 - c.now_ms + 999) / 1000;
  headers.emplace_back("X-RateLimit-Limit-Default", std::to_string(limit));
  headers.emplace_back("X-RateLimit-Remaining-Default", std::to_string(std::max(0, limit - w.n_used)));
  headers.emplace_back("X-RateLimit-Reset-Default", std::to_string(reset_s));
  if (w.n_used <= limit) return std::nullopt;
  c.st.counters.n_throttled++;
  Reply r = error_reply(c, 429, "ThrottlerException: Too Many Requests");
  r.headers.emplace_back("Retry-After", std::to_string(reset_s));
  return r;
}

/* Serves one request: request id, fault injection, routing under the state
 * lock, error envelope on unknown routes and exceptions, one log line. */
class Server {
 public:
  Server(const Config& cfg, State& st) : cfg_(cfg), st_(st), routes_(build_routes()) {}

  void serve(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string request_id = req.get_header_value("X-Request-Id");
    bool id_ok = !request_id.empty() && request_id.size() <= 200;
    for (unsigned char ch : request_id) if (ch < 0x21 || ch > 0x7e) id_ok = false;
    if (!id_ok) request_id = random_uuid();
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    std::string path = req.path;
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    const bool is_control = starts_with(path, "/_emulator/");

    Call c{req, {}, st_, cfg_, real_now_ms(), request_id, {}, {}};
    Reply reply;
    try {
      std::optional<Fault> fault;
      if (!is_control) {
        std::lock_guard<std::mutex> lock(st_.mu);
        st_.counters.n_requests++;
        fault = emu::take_fault(st_, method, path);
      }
      if (fault && fault->delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
      }
      {
        std::lock_guard<std::mutex> lock(st_.mu);
        c.now_ms = emulator_now(st_);
      }
      if (fault && fault->status != 0) {
        reply = error_reply(c, fault->status, "Emulated fault: HTTP " + std::to_string(fault->status) +
                                                  " injected through /_emulator/faults");
      } else {
        reply = route(c, method, path, is_control);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "calcom_emulator: exception in %s %s: %s\n", req.method.c_str(),
                   req.path.c_str(), e.what());
      reply = error_reply(c, 500, "Internal server error");
    }
    try {
      for (auto& fn : c.deferred) fn();
      if (c.finish) c.finish(reply);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "calcom_emulator: exception after %s %s: %s\n", req.method.c_str(), req.path.c_str(),
                   e.what());
    }

    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    res.set_header("X-Request-Id", request_id);
    res.set_content(reply.body, reply.content_type);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "calcom_emulator: %s %s %d %.1fms\n", req.method.c_str(), req.path.c_str(),
                 reply.status, ms);
  }

 private:
  Reply route(Call& c, const std::string& method, const std::string& path, bool is_control) {
    for (const auto& r : routes_) {
      std::smatch m;
      if (r.method != method || !std::regex_match(path, m, r.pattern)) continue;
      for (size_t i = 1; i < m.size(); ++i) c.params.push_back(m[i].str());
      std::vector<std::pair<std::string, std::string>> limit_headers;
      std::lock_guard<std::mutex> lock(st_.mu);
      c.now_ms = emulator_now(st_);  // the emulator clock, read under the lock
      if (!is_control && cfg_.rate_limit_per_min > 0 && starts_with(path, "/v2/")) {
        if (auto err = throttle(c, throttle_key(c, c.params, path), limit_headers)) {
          for (auto& h : limit_headers) err->headers.push_back(std::move(h));
          return *err;
        }
      }
      Reply reply = r.handler(c);
      for (auto& h : limit_headers) reply.headers.push_back(std::move(h));
      return reply;
    }
    if (is_control) return control_json(404, Json::Value("unknown control endpoint"));
    return error_reply(c, 404, "Cannot " + c.req.method + " " + path);
  }

  const Config& cfg_;
  State& st_;
  const std::vector<Route> routes_;
};

}  // namespace calcom_emu

int main(int argc, char** argv) {
  using namespace calcom_emu;
  const Config cfg = parse_flags(argc, argv);
  if (time_zone_index().empty()) {
    std::cerr << "calcom_emulator: warning: no time zones found under /usr/share/zoneinfo; "
                 "every timeZone will be rejected\n";
  }
  State st;
  st.jwt_key = coach::crypto::random_bytes(32);
  reset_state(st, cfg);

  Server server(cfg, st);
  emu::ServeSpec spec;
  spec.name = "calcom_emulator";
  spec.host = cfg.host;
  spec.port = cfg.port;
  spec.n_threads = cfg.n_threads;
  spec.routes_options = true;
  spec.bodyless_methods = {"POST", "PATCH", "PUT", "DELETE"};
  spec.handle = [&server](const httplib::Request& req, httplib::Response& res) { server.serve(req, res); };
  spec.fill_error = [](const httplib::Request& req, httplib::Response& res) {
    State none;
    Config none_cfg;
    Call c{req, {}, none, none_cfg, real_now_ms(), random_uuid(), {}, {}};
    std::string message = res.status == 413 ? "Request body too large"
                          : res.status == 400 && (req.method == "POST" || req.method == "PATCH" ||
                                                  req.method == "PUT")
                              ? "Bad request (a request with a body needs Content-Length or chunked "
                                "encoding)"
                              : "Bad request";
    Reply r = error_reply(c, res.status, message);
    res.set_header("X-Request-Id", c.request_id);
    res.set_content(r.body, r.content_type);
  };
  spec.workers = {[&st] { run_webhook_worker(st); }};
  spec.stop_workers = [&st] {
    std::lock_guard<std::mutex> lock(st.mu);
    st.webhook_stop = true;
    st.webhook_cv.notify_all();
  };
  return emu::serve(spec);
}
