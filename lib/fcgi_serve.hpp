/* fcgi_serve.hpp: the accept loop every endpoint binary runs. FastCGI when
 * stdin is a socket (spawn-fcgi), plain CGI otherwise (one request on
 * stdin/stdout, e.g. under fcgiwrap or shared hosting). */
#pragma once
#include <functional>
#include <map>
#include <string>

#include "http.hpp"

namespace coach::fcgi {

using Handler = std::function<Response(const Request&)>;

struct ServeOptions {
  std::string endpoint;              // name in the log line, e.g. "cal_oauth_test"
  size_t max_body_bytes = 1 << 20;   // larger bodies: 413 before the handler runs
};

/* Serves requests until the FastCGI listener closes (or one request in CGI
 * mode). Exceptions from the handler become a logged 500 with the generic error
 * body. Every request logs one line: time, endpoint, method, path, status,
 * latency_ms, request_id (secrets redacted). Returns the process exit code. */
int serve(const ServeOptions& opts, const Handler& handler);

/* Builds a Request from CGI-style parameters (what FastCGI passes too) and a
 * raw body; exposed for tests. */
Request build_request(const std::map<std::string, std::string>& params, std::string body, bool too_large);

/* Serializes a response as CGI output ("Status: ...\r\nContent-Type: ...\r\n\r\nbody"). */
std::string format_response(const Response& r);

}  // namespace coach::fcgi
