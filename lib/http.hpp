/* http.hpp: the Request and Response values handlers take and return, plus
 * parsing of query strings, forms and cookies, and the one error path. */
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coach {

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string path;          // DOCUMENT_URI / path part of REQUEST_URI, no query
  std::string query_string;  // raw, without '?'
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names ("content-type")
  std::map<std::string, std::string> cookies;
  std::string body;          // raw body bytes, already capped
  std::string remote_addr;
  std::string request_id;    // from X-Request-Id or generated
  bool body_too_large = false;

  std::string header(const std::string& lower_name) const;
  std::string param(const std::string& name) const;  // query parameter or ""
  bool wants_json() const;   // path starts with /api/ or Accept prefers JSON
};

struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  std::string error_code;    // for the log line, when this is an error
};

/* "200 OK", "404 Not Found", ... for the Status: header. */
std::string status_line(int status);

std::string url_decode(std::string_view s, bool plus_is_space = true);
std::string url_encode(std::string_view s);
std::map<std::string, std::string> parse_urlencoded(std::string_view s);
std::map<std::string, std::string> parse_cookies(std::string_view header);

/* Builders. json_response takes already-serialized JSON. */
Response json_response(int status, const std::string& json_body);
Response html_response(int status, const std::string& html);
Response redirect_response(const std::string& location, int status = 303);

/* The one error path: {"error":{"code":..,"message":..}} for API requests,
 * the error page otherwise. The message is shown to the user: never put SQL,
 * secrets or exception text from a library in it. */
Response respond_error(const Request& req, int status, const std::string& code,
                       const std::string& message);

/* Set-Cookie value with HttpOnly; SameSite=Lax; Path=/. */
std::string make_set_cookie(const std::string& name, const std::string& value,
                            int max_age_s, bool http_only = true);

}  // namespace coach
