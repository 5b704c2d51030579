/* http.cpp: request helpers, form/cookie parsing and the one error path. */
#include "http.hpp"

#include <cctype>

#include "html.hpp"
#include "json_util.hpp"

namespace coach {

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string Request::param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

bool Request::wants_json() const {
  if (path.rfind("/api/", 0) == 0) return true;
  std::string accept = header("accept");
  return accept.find("application/json") != std::string::npos && accept.find("text/html") == std::string::npos;
}

std::string status_line(int status) {
  const char* reason = "Unknown";
  switch (status) {
    case 200: reason = "OK"; break;
    case 201: reason = "Created"; break;
    case 202: reason = "Accepted"; break;
    case 204: reason = "No Content"; break;
    case 301: reason = "Moved Permanently"; break;
    case 302: reason = "Found"; break;
    case 303: reason = "See Other"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 409: reason = "Conflict"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 422: reason = "Unprocessable Entity"; break;
    case 429: reason = "Too Many Requests"; break;
    case 500: reason = "Internal Server Error"; break;
    case 502: reason = "Bad Gateway"; break;
    case 503: reason = "Service Unavailable"; break;
    case 504: reason = "Gateway Timeout"; break;
    default: break;
  }
  return std::to_string(status) + " " + reason;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_urlencoded(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string_view::npos) amp = s.size();
    std::string_view part = s.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string k = url_decode(part.substr(0, eq));
      std::string v = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
      if (!k.empty() && out.find(k) == out.end()) out.emplace(std::move(k), std::move(v));
    }
    pos = amp + 1;
  }
  return out;
}

std::map<std::string, std::string> parse_cookies(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view part = header.substr(pos, semi - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      std::string k(part.substr(0, eq));
      std::string v(part.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      out.emplace(std::move(k), std::move(v));
    }
    pos = semi + 1;
  }
  return out;
}

Response json_response(int status, const std::string& json_body) {
  Response r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = json_body;
  if (r.body.empty() || r.body.back() != '\n') r.body += "\n";
  return r;
}

Response html_response(int status, const std::string& html) {
  Response r;
  r.status = status;
  r.body = html;
  return r;
}

Response redirect_response(const std::string& location, int status) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Location", location);
  r.body = "<!doctype html><title>Redirect</title><a href=\"" + html::attr(location) + "\">Continue</a>\n";
  return r;
}

Response respond_error(const Request& req, int status, const std::string& code, const std::string& message) {
  Response r;
  if (req.wants_json()) {
    Json::Value err;
    err["error"]["code"] = code;
    err["error"]["message"] = message;
    if (!req.request_id.empty()) err["error"]["request_id"] = req.request_id;
    r = json_response(status, json::write(err));
  } else {
    r = html_response(status, html::error_page(status, code, message, req.request_id));
  }
  r.error_code = code;
  return r;
}

std::string make_set_cookie(const std::string& name, const std::string& value, int max_age_s, bool http_only) {
  std::string c = name + "=" + value + "; Path=/; SameSite=Lax; Max-Age=" + std::to_string(max_age_s);
  if (http_only) c += "; HttpOnly";
  return c;
}

}  // namespace coach
