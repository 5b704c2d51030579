/* fcgi_serve.cpp: FastCGI / CGI request loop around a pure handler. */
#include "fcgi_serve.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <fcgiapp.h>

#include "crypto.hpp"
#include "log.hpp"

extern char** environ;

namespace coach::fcgi {

Request build_request(const std::map<std::string, std::string>& params, std::string body, bool too_large) {
  Request r;
  auto get = [&](const char* k) -> std::string {
    auto it = params.find(k);
    return it == params.end() ? "" : it->second;
  };
  r.method = get("REQUEST_METHOD");
  r.query_string = get("QUERY_STRING");
  std::string uri = get("DOCUMENT_URI");
  if (uri.empty()) {
    uri = get("REQUEST_URI");
    size_t q = uri.find('?');
    if (q != std::string::npos) uri = uri.substr(0, q);
  }
  if (uri.empty()) uri = get("SCRIPT_NAME") + get("PATH_INFO");
  r.path = uri.empty() ? "/" : uri;
  r.query = parse_urlencoded(r.query_string);
  r.remote_addr = get("REMOTE_ADDR");
  for (const auto& [k, v] : params) {
    if (k.rfind("HTTP_", 0) == 0) {
      std::string name;
      for (char c : k.substr(5)) name += (c == '_') ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = v;
    }
  }
  if (!get("CONTENT_TYPE").empty()) r.headers["content-type"] = get("CONTENT_TYPE");
  if (!get("CONTENT_LENGTH").empty()) r.headers["content-length"] = get("CONTENT_LENGTH");
  r.cookies = parse_cookies(r.header("cookie"));
  r.body = std::move(body);
  r.body_too_large = too_large;
  std::string rid = r.header("x-request-id");
  bool rid_ok = !rid.empty() && rid.size() <= 64;
  for (char c : rid)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') rid_ok = false;
  r.request_id = rid_ok ? rid : crypto::random_hex(8);
  return r;
}

std::string format_response(const Response& r) {
  std::string out = "Status: " + status_line(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  for (const auto& [k, v] : r.headers) {
    // Header injection guard: a value with CR/LF is dropped.
    if (v.find_first_of("\r\n") != std::string::npos || k.find_first_of("\r\n:") != std::string::npos) continue;
    out += k + ": " + v + "\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

namespace {

Response run_handler(const ServeOptions& opts, const Handler& handler, const Request& req) {
  if (req.body_too_large)
    return respond_error(req, 413, "body_too_large",
                         "Request body is larger than " + std::to_string(opts.max_body_bytes) + " bytes");
  try {
    return handler(req);
  } catch (const std::exception& e) {
    log::error("unhandled exception", {{"endpoint", opts.endpoint}, {"request_id", req.request_id}, {"what", e.what()}});
  } catch (...) {
    log::error("unhandled exception", {{"endpoint", opts.endpoint}, {"request_id", req.request_id}});
  }
  return respond_error(req, 500, "internal_error", "Something went wrong on our side. Request id: " + req.request_id);
}

void log_request(const ServeOptions& opts, const Request& req, const Response& resp,
                 std::chrono::steady_clock::time_point t0) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.2f", static_cast<double>(us) / 1000.0);
  log::Fields f = {{"endpoint", opts.endpoint}, {"method", req.method}, {"path", req.path},
                   {"status", std::to_string(resp.status)}, {"latency_ms", ms}, {"request_id", req.request_id}};
  if (!resp.error_code.empty()) f.emplace_back("error", resp.error_code);
  log::line(resp.status >= 500 ? "error" : "info", "request", f);
}

Request read_fcgx(FCGX_Request& fr, size_t cap) {
  std::map<std::string, std::string> params;
  for (char** e = fr.envp; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) params.emplace(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
  }
  size_t want = 0;
  if (auto it = params.find("CONTENT_LENGTH"); it != params.end()) want = std::strtoull(it->second.c_str(), nullptr, 10);
  std::string body;
  bool too_large = want > cap;
  if (!too_large && want > 0) {
    body.resize(want);
    int n = FCGX_GetStr(body.data(), static_cast<int>(want), fr.in);
    body.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return build_request(params, std::move(body), too_large);
}

}  // namespace

int serve(const ServeOptions& opts, const Handler& handler) {
  if (FCGX_Init() != 0) return 1;
  if (FCGX_IsCGI()) {
    // Plain CGI: parameters in the environment, body on stdin.
    auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, std::string> params;
    for (char** e = environ; e && *e; ++e) {
      const char* eq = std::strchr(*e, '=');
      if (eq) params.emplace(std::string(static_cast<const char*>(*e), eq), std::string(eq + 1));
    }
    size_t want = 0;
    if (auto it = params.find("CONTENT_LENGTH"); it != params.end()) want = std::strtoull(it->second.c_str(), nullptr, 10);
    std::string body;
    bool too_large = want > opts.max_body_bytes;
    if (!too_large && want > 0) {
      body.resize(want);
      size_t n = std::fread(body.data(), 1, want, stdin);
      body.resize(n);
    }
    Request req = build_request(params, std::move(body), too_large);
    Response resp = run_handler(opts, handler, req);
    std::string out = format_response(resp);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    log_request(opts, req, resp, t0);
    return 0;
  }
  FCGX_Request fr;
  FCGX_InitRequest(&fr, 0, 0);
  while (FCGX_Accept_r(&fr) >= 0) {
    auto t0 = std::chrono::steady_clock::now();
    Request req = read_fcgx(fr, opts.max_body_bytes);
    Response resp = run_handler(opts, handler, req);
    std::string out = format_response(resp);
    FCGX_PutStr(out.data(), static_cast<int>(out.size()), fr.out);
    FCGX_Finish_r(&fr);
    log_request(opts, req, resp, t0);
  }
  return 0;
}

}  // namespace coach::fcgi
