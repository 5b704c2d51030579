/* http_client.hpp: outbound HTTP over libcurl with timeouts; used by the
 * Cal.com, Zoom, Stripe and Clerk (JWKS) clients. */
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "result.hpp"

namespace coach::http_client {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  long timeout_ms = 10000;
  long connect_timeout_ms = 3000;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;
  double elapsed_ms = 0;
};

/* Performs the request. A transport failure (refused, timeout, DNS) is an
 * Error{code "upstream_unreachable", 502}; any HTTP status is a success here. */
Result<HttpResponse> perform(const HttpRequest& req);

/* Call once at process start (curl_global_init); idempotent. */
void global_init();

}  // namespace coach::http_client
