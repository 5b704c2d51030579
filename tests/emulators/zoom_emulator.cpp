/* zoom_emulator.cpp: a local emulator of the Zoom API for local mode and
 * integration tests, serving real HTTP on 127.0.0.1. Behaviour follows
 * shared/reference/payments-zoom-auth-email.md §2 (shapes) and §5.2 (what the
 * emulator must do); see the parts:
 *   zoom_core.hpp      config, state, error bodies, helpers
 *   zoom_webhooks.hpp  signed event delivery, retries, URL validation
 *   zoom_api.hpp       POST /oauth/token, /v2/users, /v2/meetings, /j and /s pages
 *   zoom_control.hpp   /_emulator/ test controls
 * This file parses the flags, holds the route table, applies faults and the
 * optional rate limit, and runs the server (through emu::serve,
 * emu_common.hpp) and the delivery worker. Handlers run under State::mu
 * (except URL validation, which sends HTTP); webhook sends happen on the
 * worker thread without the lock. One log line per request goes to stderr
 * (no bodies, no tokens). */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <iostream>
#include <regex>
#include <sstream>

#include "zoom_control.hpp"

namespace zoom_emu {

/* ----------------------------------------------------------------- flags */

inline const char* k_usage =
    "usage: zoom_emulator --account-id A --client-id ID --client-secret S [options]\n"
    "  --port N                   listen port (default 0: any free port, printed on stdout)\n"
    "  --host H                   listen address (default 127.0.0.1)\n"
    "  --public-url URL           base of join_url/start_url/api_url (default http://HOST:PORT)\n"
    "  --account-id A             the S2S app's account id (required)\n"
    "  --client-id ID             the S2S app's client id (required)\n"
    "  --client-secret S          the S2S app's client secret (required)\n"
    "  --owner-email E            the account owner, userId \"me\" (default owner@zoom-emulator.test)\n"
    "  --user E                   another user of the account (repeatable)\n"
    "  --token-ttl-s N            access-token lifetime (default 3599)\n"
    "  --scope S                  a granted scope (repeatable; default: meeting and user admin scopes)\n"
    "  --invalid-client-status N  HTTP status of invalid_client, 400 (default) or 401\n"
    "  --webhook-url URL          the event subscription's endpoint (optional)\n"
    "  --webhook-secret S         its Secret Token (required with --webhook-url)\n"
    "  --events LIST              subscribed events, comma-separated (default: all meeting.* events)\n"
    "  --delivery-timeout-ms N    a delivery counts only when 200/204 within N ms (default 3000)\n"
    "  --time-compression X       divide the 5/20/60-minute retry delays by X (default 1)\n"
    "  --no-validate-on-start     do not try URL validation at start-up (it still runs lazily)\n"
    "  --rate-limit-per-s N       answer 429 over N /v2 requests per second (default 0: off)\n"
    "  --threads N                HTTP worker threads (default 16)\n";

/* Parses argv into a Config; a bad or missing flag exits with status 2. */
inline Config parse_flags(int argc, char** argv) {
  Config cfg;
  bool scopes_given = false, events_given = false;
  emu::FlagReader flags(argc, argv, "zoom_emulator", k_usage);
  while (flags.next()) {
    const std::string& arg = flags.flag();
    auto need_int = [&](int64_t lo, int64_t hi) -> int64_t {
      const std::string v = flags.value();
      int64_t n = 0;
      if (!parse_int64(v, n) || n < lo || n > hi) {
        flags.die(arg + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      }
      return n;
    };
    if (flags.asks_help()) {
      flags.print_usage_and_exit();
    } else if (arg == "--port") {
      cfg.port = static_cast<int>(need_int(0, 65535));
    } else if (arg == "--host") {
      cfg.host = flags.value();
    } else if (arg == "--public-url") {
      cfg.public_url = flags.value();
      if (!is_http_url(cfg.public_url)) flags.die("--public-url must be an http(s) URL");
      while (!cfg.public_url.empty() && cfg.public_url.back() == '/') cfg.public_url.pop_back();
    } else if (arg == "--account-id") {
      cfg.account_id = flags.value();
    } else if (arg == "--client-id") {
      cfg.client_id = flags.value();
    } else if (arg == "--client-secret") {
      cfg.client_secret = flags.value();
    } else if (arg == "--owner-email") {
      cfg.owner_email = flags.value();
    } else if (arg == "--user") {
      cfg.user_emails.push_back(flags.value());
    } else if (arg == "--token-ttl-s") {
      cfg.token_ttl_s = need_int(1, 86400);
    } else if (arg == "--scope") {
      if (!scopes_given) cfg.scopes.clear();
      scopes_given = true;
      std::istringstream words(flags.value());
      for (std::string w; words >> w;) cfg.scopes.push_back(w);
    } else if (arg == "--invalid-client-status") {
      cfg.invalid_client_status = static_cast<int>(need_int(400, 401));
    } else if (arg == "--webhook-url") {
      cfg.webhook_url = flags.value();
      if (!is_http_url(cfg.webhook_url)) flags.die("--webhook-url must be an http(s) URL");
    } else if (arg == "--webhook-secret") {
      cfg.webhook_secret = flags.value();
    } else if (arg == "--events") {
      events_given = true;
      std::string list = flags.value();
      std::istringstream parts(list);
      for (std::string ev; std::getline(parts, ev, ',');) {
        if (ev.empty()) continue;
        if (std::find(all_events().begin(), all_events().end(), ev) == all_events().end()) {
          flags.die("--events: unknown event \"" + ev + "\"");
        }
        cfg.events.insert(ev);
      }
    } else if (arg == "--delivery-timeout-ms") {
      cfg.delivery_timeout_ms = need_int(50, 60000);
    } else if (arg == "--time-compression") {
      const std::string v = flags.value();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(x >= 1.0 && x <= 1e6)) flags.die("--time-compression must be a number in [1, 1e6]");
      cfg.time_compression = x;
    } else if (arg == "--no-validate-on-start") {
      flags.no_value();
      cfg.validate_on_start = false;
    } else if (arg == "--rate-limit-per-s") {
      cfg.rate_limit_per_s = static_cast<int>(need_int(0, 100000));
    } else if (arg == "--threads") {
      cfg.n_threads = static_cast<int>(need_int(1, 1024));
    } else {
      flags.die("unknown argument \"" + arg + "\"");
    }
  }
  if (cfg.account_id.empty()) flags.die("--account-id is required");
  if (cfg.client_id.empty()) flags.die("--client-id is required");
  if (cfg.client_secret.empty()) flags.die("--client-secret is required");
  if (cfg.owner_email.find('@') == std::string::npos) flags.die("--owner-email must be an e-mail address");
  for (const auto& e : cfg.user_emails) {
    if (e.find('@') == std::string::npos) flags.die("--user must be an e-mail address, got \"" + e + "\"");
  }
  if (!cfg.webhook_url.empty() && cfg.webhook_secret.empty()) flags.die("--webhook-url needs --webhook-secret");
  if (!events_given) cfg.events = std::set<std::string>(all_events().begin(), all_events().end());
  if (cfg.scopes.empty()) flags.die("--scope must name at least one scope");
  return cfg;
}

/* --------------------------------------------------------------- routing */

using Handler = std::function<Reply(Call&)>;

struct Route {
  std::string method;
  std::regex pattern;                  // whole path; captures become Call::params
  Handler handler;
  bool locked = true;                  // false: the handler takes State::mu itself
};

inline std::vector<Route> build_routes() {
  const std::string seg = "([^/]+)", num = "([0-9]+)";
  std::vector<Route> r;
  auto add = [&](const char* method, const std::string& pattern, Handler h, bool locked = true) {
    r.push_back(Route{method, std::regex(pattern), std::move(h), locked});
  };
  // Zoom (§2).
  add("POST", "/oauth/token", handle_token);
  add("GET", "/v2/users/me", handle_get_user);
  add("GET", "/v2/users/" + seg, handle_get_user);
  add("POST", "/v2/users/" + seg + "/meetings", handle_create_meeting);
  add("GET", "/v2/users/" + seg + "/meetings", handle_list_meetings);
  add("GET", "/v2/meetings/" + seg, handle_get_meeting);
  add("PATCH", "/v2/meetings/" + seg, handle_patch_meeting);
  add("DELETE", "/v2/meetings/" + seg, handle_delete_meeting);
  add("GET", "/j/" + seg, handle_join_page);
  add("GET", "/s/" + seg, handle_start_page);
  // Test control (not Zoom).
  add("GET", "/_emulator/health", handle_control_health);
  add("POST", "/_emulator/reset", handle_control_reset);
  add("GET", "/_emulator/state", handle_control_state);
  add("POST", "/_emulator/expire-tokens", handle_control_expire_tokens);
  add("POST", "/_emulator/token-ttl", handle_control_token_ttl);
  add("POST", "/_emulator/scopes", handle_control_scopes);
  add("POST", "/_emulator/users", handle_control_add_user);
  add("GET", "/_emulator/clock", handle_control_clock);
  add("POST", "/_emulator/clock", handle_control_clock);
  add("POST", "/_emulator/faults", handle_control_add_fault);
  add("GET", "/_emulator/faults", handle_control_list_faults);
  add("DELETE", "/_emulator/faults", handle_control_clear_faults);
  add("POST", "/_emulator/meetings/" + num + "/start", handle_control_start);
  add("POST", "/_emulator/meetings/" + num + "/end", handle_control_end);
  add("POST", "/_emulator/meetings/" + num + "/participants", handle_control_participants);
  add("POST", "/_emulator/webhook/validate", handle_control_validate, false);
  add("GET", "/_emulator/deliveries", handle_control_deliveries);
  add("DELETE", "/_emulator/deliveries", handle_control_clear_deliveries);
  add("GET", "/_emulator/webhook-endpoints", handle_control_list_endpoints);
  add("POST", "/_emulator/webhook-endpoints", handle_control_add_endpoint);
  add("DELETE", "/_emulator/webhook-endpoints/" + seg, handle_control_remove_endpoint);
  return r;
}

/* Closes the client connection of req without an answer: finds our socket
 * whose peer is req's remote address and port and shuts it down, so the
 * client sees the connection drop (curl: "Empty reply from server"). */
inline bool drop_connection(const httplib::Request& req, int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return false;
  bool done = false;
  while (dirent* ent = readdir(dir)) {
    int64_t fd = 0;
    if (!parse_int64(ent->d_name, fd)) continue;
    sockaddr_storage peer{}, self{};
    socklen_t plen = sizeof peer, slen = sizeof self;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&self), &slen) != 0) continue;
    char host[INET6_ADDRSTRLEN] = {0};
    int peer_port = 0, self_port = 0;
    if (peer.ss_family == AF_INET) {
      auto* p = reinterpret_cast<sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &p->sin_addr, host, sizeof host);
      peer_port = ntohs(p->sin_port);
      self_port = ntohs(reinterpret_cast<sockaddr_in*>(&self)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &p->sin6_addr, host, sizeof host);
      peer_port = ntohs(p->sin6_port);
      self_port = ntohs(reinterpret_cast<sockaddr_in6*>(&self)->sin6_port);
    } else {
      continue;
    }
    if (peer_port == req.remote_port && self_port == local_port && req.remote_addr == host) {
      shutdown(static_cast<int>(fd), SHUT_RDWR);
      done = true;
      break;
    }
  }
  closedir(dir);
  return done;
}

class Server {
 public:
  Server(const Config& cfg, State& st) : cfg_(cfg), st_(st), routes_(build_routes()) {}

  void set_base(const std::string& base_url, int port) {
    base_url_ = base_url;
    port_ = port;
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string path = req.path;
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    const bool is_control = starts_with(path, "/_emulator/");
    Call c{req, {}, st_, cfg_, base_url_, 0, false};
    Reply reply;
    try {
      std::optional<Fault> fault;
      if (!is_control) {
        std::lock_guard<std::mutex> lock(st_.mu);
        st_.counters.n_requests++;
        fault = emu::take_fault(st_, req.method, path);
      }
      if (fault && fault->delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
      if (fault && fault->drop) {
        reply.drop_connection = true;
      } else if (fault && fault->status) {
        reply = fault_reply(*fault, path);
      } else {
        reply = route(c, req.method == "HEAD" ? "GET" : req.method, path);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "zoom_emulator: exception in %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
      reply = zoom_error(500, 500, "Internal Error");
    }
    if (c.wake_worker) {
      std::lock_guard<std::mutex> lock(st_.mu);
      st_.cv.notify_all();
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (reply.drop_connection) {
      const bool dropped = drop_connection(req, port_);
      {
        std::lock_guard<std::mutex> lock(st_.mu);
        st_.counters.n_connections_dropped++;
      }
      if (!dropped) {
        // Fallback: promise a body and send none, so the client fails mid-response.
        res.status = 200;
        res.set_content_provider(1024, "application/json", [](size_t, size_t, httplib::DataSink&) { return false; });
      }
      std::fprintf(stderr, "zoom_emulator: %s %s dropped (fault)\n", req.method.c_str(), req.path.c_str());
      return;
    }
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    if (!reply.content_type.empty()) res.set_content(reply.body, reply.content_type);
    std::fprintf(stderr, "zoom_emulator: %s %s %d %.1fms\n", req.method.c_str(), req.path.c_str(), reply.status, ms);
  }

 private:
  Reply route(Call& c, const std::string& method, const std::string& path) {
    bool path_known = false;
    for (const auto& r : routes_) {
      std::smatch m;
      if (!std::regex_match(path, m, r.pattern)) continue;
      path_known = true;
      if (r.method != method) continue;
      // Path segments arrive percent-encoded (an e-mail userId: %40, %2B).
      for (size_t i = 1; i < m.size(); ++i) c.params.push_back(coach::url_decode(m[i].str(), false));
      if (!r.locked) return r.handler(c);
      std::lock_guard<std::mutex> lock(st_.mu);
      c.now_ms = emu_now_ms(st_);
      if (cfg_.rate_limit_per_s > 0 && starts_with(path, "/v2/")) {
        const int64_t sec = real_now_ms() / 1000;
        if (sec != st_.rate_window_s) { st_.rate_window_s = sec; st_.rate_used = 0; }
        if (++st_.rate_used > cfg_.rate_limit_per_s) {
          st_.counters.n_throttled++;
          Fault f;
          f.status = 429;
          f.retry_after_s = 1;
          return fault_reply(f, path);
        }
      }
      return r.handler(c);
    }
    if (starts_with(path, "/_emulator/")) return control_error(path_known ? 405 : 404, "unknown control endpoint");
    if (path_known) return zoom_error(405, 405, "Method Not Allowed.");
    return zoom_error(404, 404, "Not Found.");
  }

  const Config& cfg_;
  State& st_;
  const std::vector<Route> routes_;
  std::string base_url_;
  int port_ = 0;
};

}  // namespace zoom_emu

int main(int argc, char** argv) {
  using namespace zoom_emu;
  const Config cfg = parse_flags(argc, argv);
  State st;
  st.jwt_key = coach::crypto::random_bytes(32);
  st.users = initial_users(cfg);
  {
    std::lock_guard<std::mutex> lock(st.mu);
    reset_state(st, cfg);
  }

  Server server(cfg, st);
  emu::ServeSpec spec;
  spec.name = "zoom_emulator";
  spec.host = cfg.host;
  spec.port = cfg.port;
  spec.n_threads = cfg.n_threads;
  spec.bodyless_methods = {"POST", "PATCH", "PUT", "DELETE"};
  spec.handle = [&server](const httplib::Request& req, httplib::Response& res) { server.serve(req, res); };
  spec.fill_error = [](const httplib::Request&, httplib::Response& res) {
    Reply r = res.status == 413 ? zoom_error(413, 413, "Request body too large.")
                                : zoom_error(res.status, 300, "Request Body should be a valid JSON object.");
    res.set_content(r.body, r.content_type);
  };
  // Without --public-url, join_url and start_url name the chosen port;
  // dropping a connection (fault) needs it too.
  spec.on_bound = [&cfg, &server](int port) {
    server.set_base(cfg.public_url.empty() ? "http://" + cfg.host + ":" + std::to_string(port) : cfg.public_url,
                    port);
  };
  spec.workers = {[&st, &cfg] { run_delivery_worker(st, cfg); }};
  spec.stop_workers = [&st] {
    std::lock_guard<std::mutex> lock(st.mu);
    st.stop = true;
    st.cv.notify_all();
  };
  return emu::serve(spec);
}
