/* emu_common.hpp: what the emulator binaries share: reading their flags,
 * running their httplib server from bind to a clean stop on SIGINT/SIGTERM,
 * and the small text, time and id helpers whose logic is the same in each.
 *
 * Header-only like the emulators' own headers: each emulator is one
 * translation unit, tests/emulators/<name>.cpp. */
#pragma once
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto.hpp"

namespace emu {

/* ---------------------------------------------------------------- helpers */

inline int64_t real_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

inline std::string to_lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/* Parses a whole string as a decimal integer (optional leading '-'). */
inline bool parse_int64(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

/* n random characters of [0-9A-Za-z]. */
inline std::string random_base62(size_t n) {
  static const char* alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string bytes = coach::crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out.push_back(alphabet[b % 62]);
  return out;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
inline std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(hex[ch >> 4]);
      out.push_back(hex[ch & 15]);
    }
  }
  return out;
}

/* Form decoding: '+' is a space; a malformed %-escape stays as it is. */
inline std::string url_decode(const std::string& s) {
  auto hexval = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/* application/x-www-form-urlencoded -> map (first value of a repeated key wins). */
inline std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    const std::string pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      out.emplace(url_decode(pair.substr(0, eq)), eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return out;
}

/* ----------------------------------------------------------------- faults */

/* Takes one use of the first fault in st.faults injected (through
 * /_emulator/faults) for this request: path under its path_prefix, method
 * its method unless it names none. Counts it in st.counters.n_faults_fired.
 * Precondition: st.mu held. */
template <class State>
auto take_fault(State& st, const std::string& method, const std::string& path)
    -> std::optional<typename decltype(State::faults)::value_type> {
  for (auto it = st.faults.begin(); it != st.faults.end(); ++it) {
    if (!starts_with(path, it->path_prefix)) continue;
    if (!it->method.empty() && it->method != method) continue;
    auto fault = *it;
    if (--it->remaining <= 0) st.faults.erase(it);
    st.counters.n_faults_fired++;
    return fault;
  }
  return std::nullopt;
}

/* ------------------------------------------------------------------ flags */

/* Prints "<program>: <message>" and the usage text on stderr; exits 2. */
[[noreturn]] inline void die_usage(const std::string& program, const std::string& usage,
                                   const std::string& message) {
  std::cerr << program << ": " << message << "\n" << usage;
  std::exit(2);
}

/* Walks argv one flag at a time, taking "--flag value" and "--flag=value".
 * Each emulator checks the values itself; bad input goes to die(). */
class FlagReader {
 public:
  FlagReader(int argc, char** argv, std::string program, std::string usage)
      : argc_(argc), argv_(argv), program_(std::move(program)), usage_(std::move(usage)) {}

  /* Moves to the next argument; false when none is left. */
  bool next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    inline_value_.clear();
    has_inline_ = false;
    const size_t eq = flag_.find('=');
    if (starts_with(flag_, "--") && eq != std::string::npos) {
      inline_value_ = flag_.substr(eq + 1);
      flag_ = flag_.substr(0, eq);
      has_inline_ = true;
    }
    return true;
  }

  const std::string& flag() const { return flag_; }
  bool has_inline() const { return has_inline_; }  // given as --flag=value
  bool has_value() const { return has_inline_ || i_ + 1 < argc_; }
  bool asks_help() const { return flag_ == "--help" || flag_ == "-h"; }

  /* The inline value, else the next argument (which is then used up). */
  std::string value() {
    if (has_inline_) return inline_value_;
    if (i_ + 1 >= argc_) die(flag_ + " needs a value");
    return argv_[++i_];
  }

  /* For a switch: "--switch=x" is an error. */
  void no_value() const {
    if (has_inline_) die(flag_ + " takes no value");
  }

  [[noreturn]] void die(const std::string& message) const { die_usage(program_, usage_, message); }

  [[noreturn]] void print_usage_and_exit() const {
    std::cout << usage_;
    std::exit(0);
  }

 private:
  int argc_;
  char** argv_;
  const std::string program_, usage_;
  int i_ = 0;
  std::string flag_, inline_value_;
  bool has_inline_ = false;
};

/* ----------------------------------------------------------------- server */

/* Binds host:port, or any free port when port is 0. The bound port, or -1. */
inline int bind_port(httplib::Server& http, const std::string& host, int port) {
  if (port == 0) return http.bind_to_any_port(host);
  return http.bind_to_port(host, port) ? port : -1;
}

/* The first stdout line of every emulator; tests read the port from it. */
inline void print_listening(const std::string& label, const std::string& host, int port) {
  std::cout << label << " listening on http://" << host << ":" << port << std::endl;
}

/* How serve() runs one emulator. */
struct ServeSpec {
  std::string name;  // "zoom_emulator": prefixes the log lines, names the "listening" line
  std::string host;
  int port = 0;  // 0: any free port
  int n_threads = 16;
  bool routes_options = false;                 // OPTIONS goes to handle too
  std::vector<std::string> bodyless_methods;   // served as body-less without a length (see serve())
  httplib::Server::Handler handle;             // every request
  httplib::Server::Handler fill_error;         // the body of a request httplib rejected
  std::function<void(int port)> on_bound;      // the chosen port, before "listening" is printed
  std::vector<std::function<void()>> workers;  // each on its own thread while the server runs
  std::function<void()> stop_workers;          // once the server stopped; the workers must then return
};

/* Runs spec's server until SIGINT/SIGTERM: binds, prints
 * "<name> listening on http://host:port", starts the workers, serves, then
 * stops and joins the workers. Returns the exit status: 1 when it cannot
 * bind or the server fails, else 0. Precondition: no threads yet, so all
 * inherit the blocked signals. */
inline int serve(const ServeSpec& spec) {
  // SIGINT/SIGTERM are taken by a waiting thread that stops the server
  // cleanly; blocked before httplib starts its workers so they inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  httplib::Server http;
  const size_t n_threads = static_cast<size_t>(spec.n_threads);
  http.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  http.set_payload_max_length(1 << 20);
  http.Get(".*", spec.handle);
  http.Post(".*", spec.handle);
  http.Patch(".*", spec.handle);
  http.Delete(".*", spec.handle);
  http.Put(".*", spec.handle);
  if (spec.routes_options) http.Options(".*", spec.handle);
  // HTTP/1.1 says a request with neither Content-Length nor chunked encoding
  // has no body, but httplib 0.11 answers such a POST/PATCH/PUT with 400 (what
  // `curl -X POST` and libcurl's CUSTOMREQUEST send). Serve those here, before
  // httplib tries to read a body, as Express would.
  http.set_pre_routing_handler([&spec](const httplib::Request& req, httplib::Response& res) {
    const auto& methods = spec.bodyless_methods;
    if (std::find(methods.begin(), methods.end(), req.method) != methods.end() &&
        !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      spec.handle(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Requests httplib rejects before routing (an oversized body, a bad
  // request line) still get the emulator's error envelope.
  http.set_error_handler([&spec](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    spec.fill_error(req, res);
    std::fprintf(stderr, "%s: %s %s %d (rejected by the HTTP layer)\n", spec.name.c_str(), req.method.c_str(),
                 req.path.c_str(), res.status);
  });

  const int port = bind_port(http, spec.host, spec.port);
  if (port <= 0) {
    std::cerr << spec.name << ": cannot bind " << spec.host;
    if (spec.port != 0) std::cerr << ":" << spec.port;
    std::cerr << "\n";
    return 1;
  }
  if (spec.on_bound) spec.on_bound(port);
  print_listening(spec.name, spec.host, port);

  std::thread([&http, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    http.stop();
  }).detach();
  std::vector<std::thread> workers;
  for (const auto& work : spec.workers) workers.emplace_back(work);
  const bool ok = http.listen_after_bind();
  if (spec.stop_workers) spec.stop_workers();
  for (auto& t : workers) t.join();
  std::cerr << spec.name << ": stopped\n";
  return ok ? 0 : 1;
}

}  // namespace emu
