/* calcom_core.hpp: shared pieces of the Cal.com API v2 emulator: the start-up
 * Config, the in-memory State behind one mutex, the Call/Reply values that
 * route handlers take and return, the success and error envelopes, and small
 * JSON, URL, HTML, time and time-zone helpers.
 *
 * Header-only on purpose: the Makefile builds one binary per .cpp file in
 * tests/emulators/, so the emulator is one translation unit (calcom_emulator.cpp)
 * that includes the calcom_*.hpp headers. Everything here is `inline`. */
#pragma once
#include "html.hpp"
#include <httplib.h>
#include <json/json.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto.hpp"

namespace calcom_emu {

/* ---------------------------------------------------------------- config */

/* Read once from the command line (see parse_flags in calcom_emulator.cpp). */
struct Config {
  std::string host = "127.0.0.1";
  int port = 0;                        // 0 = any free port (printed at start-up)
  int n_threads = 32;
  // The platform OAuth client (managed users).
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> redirect_uris;  // also the allowed Origin prefixes
  int64_t access_ttl_s = 3600;
  int64_t refresh_ttl_s = 365LL * 24 * 3600;
  bool has_organization = true;        // false: creating managed users -> 400
  int64_t organization_id = 1;
  // The standard OAuth2 client (connecting an existing Cal.com account).
  std::string oauth2_client_id;
  std::string oauth2_client_secret;
  std::string oauth2_redirect_uri;
  int64_t oauth2_access_ttl_s = 1800;
  int64_t oauth2_refresh_ttl_s = 30LL * 24 * 3600;
  int64_t auth_code_ttl_s = 600;
  int rate_limit_per_min = 0;          // 0 = no throttling
};

/* ----------------------------------------------------------------- state */

/* A Cal.com user: a managed user of the platform client, the platform owner,
 * or a pre-seeded regular account reachable through standard OAuth2. Nullable
 * fields are Json::Value so null vs string is kept exactly. */
struct User {
  int64_t id = 0;
  std::string email;
  std::string username;
  Json::Value name;                    // string or null
  Json::Value bio;                     // string or null
  Json::Value avatar_url;              // string or null
  Json::Value locale;                  // string or null
  Json::Value metadata;                // object or null
  Json::Value default_schedule_id;     // integer or null
  std::string time_zone = "Europe/London";
  std::string week_start = "Sunday";
  int time_format = 12;
  std::string created_date;            // ISO-8601 UTC with milliseconds
  std::string oauth_client_id;         // "" unless a managed user
  bool is_platform_managed = false;
  int64_t organization_id = 0;         // 0 = no organisation
  bool is_platform_owner = false;      // who client credentials authenticate as
  // Per-user counters for /_emulator/state.
  int n_refresh_ok = 0;
  int n_force_refresh = 0;
};

struct Availability {
  std::vector<std::string> days;       // "Monday", ...
  std::string start_time;              // "09:00"
  std::string end_time;                // "17:00"
};

/* A schedule (availability). Only the default schedule made on user creation
 * exists for now; the schedules endpoints will build on this. */
struct Schedule {
  int64_t id = 0;
  int64_t owner_id = 0;
  std::string name;
  std::string time_zone;
  bool is_default = false;
  std::vector<Availability> availability;
  Json::Value overrides = Json::Value(Json::arrayValue);
};

enum class TokenKind { access, refresh };
enum class TokenFamily { platform, oauth2 };  // managed-user tokens vs standard OAuth2

struct TokenRec {
  TokenKind kind = TokenKind::access;
  TokenFamily family = TokenFamily::platform;
  std::string client_id;
  int64_t user_id = 0;
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string scope;
};

/* A refresh token that was used (rotated), replaced by force-refresh, or whose
 * user was deleted. Presenting it again counts as a reuse. */
struct RetiredToken {
  TokenFamily family = TokenFamily::platform;
  int64_t user_id = 0;
  std::string reason;                  // "rotated", "force-refresh", "user-deleted"
};

struct AuthCode {
  std::string client_id;
  std::string redirect_uri;
  int64_t user_id = 0;
  std::string scope;
  std::string code_challenge;          // "" when the client did not use PKCE
  std::string code_challenge_method;
  int64_t expires_at_ms = 0;
};

/* Fault injection: the next `remaining` requests whose path starts with
 * path_prefix (and method matches, when set) are delayed by delay_ms and then
 * fail with `status`, or are handled normally when status is 0. */
struct Fault {
  int64_t id = 0;
  std::string path_prefix;
  std::string method;                  // "" = any
  int status = 0;
  int remaining = 1;
  int64_t delay_ms = 0;
};

struct Counters {
  int64_t n_requests = 0;              // non-control requests
  int64_t n_refresh_calls = 0;
  int64_t n_refresh_ok = 0;
  int64_t n_refresh_reuse_rejections = 0;
  int64_t n_refresh_invalid_rejections = 0;
  int64_t n_force_refresh = 0;
  int64_t n_expired_token_rejections = 0;   // 498s
  int64_t n_invalid_token_rejections = 0;   // 401s on a bearer token
  int64_t n_oauth2_token_calls = 0;
  int64_t n_oauth2_code_exchanges = 0;
  int64_t n_oauth2_refresh_ok = 0;
  int64_t n_oauth2_refresh_reuse_rejections = 0;
  int64_t n_oauth2_errors = 0;
  int64_t n_faults_fired = 0;
  int64_t n_throttled = 0;
};

struct RateWindow {
  int64_t window_start_ms = 0;
  int n_used = 0;
};

/* All mutable emulator state. Every handler runs with `mu` held (the router
 * takes it), so handlers never lock themselves. */
struct State {
  std::mutex mu;
  std::map<int64_t, User> users;                 // ordered by id
  std::map<int64_t, Schedule> schedules;
  std::unordered_map<std::string, TokenRec> tokens;
  std::unordered_map<std::string, RetiredToken> retired_refresh;
  std::unordered_map<std::string, AuthCode> auth_codes;
  std::vector<Fault> faults;
  std::map<std::string, RateWindow> rate_windows;
  Counters counters;
  int64_t next_user_id = 1001;
  int64_t next_schedule_id = 201;
  int64_t next_fault_id = 1;
  std::string jwt_key;                           // HS256 key of this process
};

/* ------------------------------------------------------------ time helpers */

inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/* "2026-03-01T10:00:00.000Z" */
inline std::string iso_utc_ms(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) { frac += 1000; secs -= 1; }
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(frac));
  return out;
}

/* ------------------------------------------------------------ JSON helpers */

inline std::string json_dump(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}

/* Parses strict JSON (no comments, nothing after the value). On failure sets
 * err to the parser's message and returns false. */
inline bool json_parse(const std::string& text, Json::Value& out, std::string& err) {
  Json::CharReaderBuilder b;
  b["collectComments"] = false;
  b["allowComments"] = false;
  b["allowTrailingCommas"] = false;
  b["strictRoot"] = false;
  b["allowDroppedNullPlaceholders"] = false;
  b["allowNumericKeys"] = false;
  b["allowSingleQuotes"] = false;
  b["failIfExtra"] = true;
  b["rejectDupKeys"] = false;
  b["allowSpecialFloats"] = false;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  std::string errs;
  if (!r->parse(text.data(), text.data() + text.size(), &out, &errs)) {
    err = errs;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return false;
  }
  return true;
}

/* JS `typeof v === "number"` for a value that came out of JSON. */
inline bool json_is_number(const Json::Value& v) {
  return v.isInt() || v.isUInt() || v.isInt64() || v.isUInt64() || v.isDouble();
}

/* A JSON number with no fractional part, within int64. */
inline bool json_as_int64(const Json::Value& v, int64_t& out) {
  if (v.isInt64()) { out = v.asInt64(); return true; }
  if (v.isDouble()) {
    double d = v.asDouble();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9e15 && d < 9e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

/* ------------------------------------------------------- string helpers */

inline std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

inline std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string::npos) { out.push_back(s.substr(start)); break; }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
  return out;
}

/* Parses a whole string as a decimal integer (optional leading '-'). */
inline bool parse_int64(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = (s[0] == '-') ? -v : v;
  return true;
}

/* Number of Unicode code points in UTF-8 text (for length limits). */
inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) if ((c & 0xC0) != 0x80) ++n;
  return n;
}

/* Cal.com's slugify, restricted to ASCII: lower-case, every run of characters
 * other than [a-z0-9] becomes one '-', no leading or trailing '-'. */
inline std::string slugify(const std::string& s) {
  std::string out;
  bool pending_dash = false;
  for (unsigned char c : s) {
    char l = static_cast<char>(std::tolower(c));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      if (pending_dash && !out.empty()) out.push_back('-');
      pending_dash = false;
      out.push_back(l);
    } else {
      pending_dash = true;
    }
  }
  return out;
}

/* A loose check in the spirit of class-validator's isEmail: one '@', a
 * non-empty local part, a dotted domain of letters, digits and '-'. */
inline bool is_email(const std::string& s) {
  size_t at = s.find('@');
  if (at == std::string::npos || at == 0 || s.find('@', at + 1) != std::string::npos) return false;
  std::string local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || domain.size() > 253) return false;
  for (unsigned char c : local) if (c <= ' ' || c == '"' || c == '(' || c == ')' || c == ',' ||
                                    c == ':' || c == ';' || c == '<' || c == '>' || c == '[' ||
                                    c == ']' || c == '\\' || c >= 0x7f) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  auto labels = split(domain, '.');
  if (labels.size() < 2) return false;
  for (const auto& l : labels) {
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (unsigned char c : l) if (!std::isalnum(c) && c != '-') return false;
  }
  return labels.back().size() >= 2;
}

/* http(s)://host[...] with a non-empty host. */
inline bool is_http_url(const std::string& s) {
  std::string rest;
  if (starts_with(s, "https://")) rest = s.substr(8);
  else if (starts_with(s, "http://")) rest = s.substr(7);
  else return false;
  size_t end = rest.find_first_of("/?#");
  std::string host = rest.substr(0, end);
  if (host.empty()) return false;
  for (unsigned char c : s) if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

/* ------------------------------------------------------ URL / HTML helpers */

inline std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

inline std::string url_decode(const std::string& s) {
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 &&
               hexval(s[i + 2]) >= 0) {
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
  if (body.empty()) return out;
  for (const auto& pair : split(body, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k = url_decode(pair.substr(0, eq));
    std::string v = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    out.emplace(k, v);
  }
  return out;
}

inline std::string html_escape(const std::string& s) { return coach::html::text(s); }

/* --------------------------------------------------------- time-zone index */

/* The tz database names under /usr/share/zoneinfo (regular TZif files; the
 * posix/ and right/ copies and the non-zone files skipped), keyed by their
 * lower-case form so "europe/madrid" normalises to "Europe/Madrid". Built
 * once at start-up, read-only afterwards. */
inline const std::map<std::string, std::string>& time_zone_index() {
  static const std::map<std::string, std::string> index = [] {
    std::map<std::string, std::string> idx;
    namespace fs = std::filesystem;
    const fs::path root = "/usr/share/zoneinfo";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return idx;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::string rel = p.lexically_relative(root).generic_string();
      if (it->is_directory(ec)) {
        if (rel == "posix" || rel == "right") it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      if (rel == "posixrules" || rel == "localtime" || rel == "Factory") continue;
      std::ifstream f(p, std::ios::binary);
      char magic[4] = {0, 0, 0, 0};
      if (!f.read(magic, 4) || std::string(magic, 4) != "TZif") continue;
      idx.emplace(to_lower(rel), rel);
    }
    return idx;
  }();
  return index;
}

/* The canonical spelling of a tz name, or nullopt when it is not a zone. */
inline std::optional<std::string> canonical_time_zone(const std::string& name) {
  if (name.empty() || name.size() > 64) return std::nullopt;
  const auto& idx = time_zone_index();
  auto it = idx.find(to_lower(name));
  if (it == idx.end()) return std::nullopt;
  return it->second;
}

/* ------------------------------------------------------- call and reply */

/* One request as a handler sees it. `params` are the route's regex captures. */
struct Call {
  const httplib::Request& req;
  std::vector<std::string> params;
  State& st;
  const Config& cfg;
  int64_t now_ms = 0;
  std::string request_id;
  std::vector<std::function<void()>> deferred;  // run after the state lock is released

  std::string header(const char* name) const { return req.get_header_value(name); }
  bool has_header(const char* name) const { return req.has_header(name); }
  /* First query parameter of that name, or nullopt. */
  std::optional<std::string> query(const char* name) const {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
  }
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/* ------------------------------------------------------------- envelopes */

inline const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 302: return "Found";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 498: return "Token Expired";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

/* The NestJS exception class Cal.com would throw for that status. */
inline const char* exception_name(int status) {
  switch (status) {
    case 400: return "BadRequestException";
    case 401: return "UnauthorizedException";
    case 403: return "ForbiddenException";
    case 404: return "NotFoundException";
    case 405: return "MethodNotAllowedException";
    case 408: return "RequestTimeoutException";
    case 409: return "ConflictException";
    case 410: return "GoneException";
    case 413: return "PayloadTooLargeException";
    case 415: return "UnsupportedMediaTypeException";
    case 422: return "UnprocessableEntityException";
    case 429: return "ThrottlerException";
    case 498: return "TokenExpiredException";
    case 500: return "InternalServerErrorException";
    case 501: return "NotImplementedException";
    case 502: return "BadGatewayException";
    case 503: return "ServiceUnavailableException";
    case 504: return "GatewayTimeoutException";
    default: return "HttpException";
  }
}

/* {"status":"success","data":data} */
inline Reply ok_reply(const Json::Value& data, int status = 200) {
  Json::Value env(Json::objectValue);
  env["status"] = "success";
  env["data"] = data;
  Reply r;
  r.status = status;
  r.body = json_dump(env);
  return r;
}

/* The HttpExceptionFilter envelope with explicit code and details. `path` is
 * the request URL as sent (with its query string), like Express's req.url. */
inline Reply error_reply_full(const Call& c, int status, const std::string& code,
                              const std::string& message, const Json::Value& details) {
  Json::Value env(Json::objectValue);
  env["status"] = "error";
  env["timestamp"] = iso_utc_ms(c.now_ms ? c.now_ms : now_ms());
  env["path"] = c.req.target.empty() ? c.req.path : c.req.target;
  Json::Value err(Json::objectValue);
  err["code"] = code;
  err["message"] = message;
  err["details"] = details;
  env["error"] = err;
  Reply r;
  r.status = status;
  r.body = json_dump(env);
  return r;
}

/* A built-in NestJS exception thrown with a string message: details is
 * {message, error: <reason phrase>, statusCode}. */
inline Reply error_reply(const Call& c, int status, const std::string& message) {
  Json::Value details(Json::objectValue);
  details["message"] = message;
  details["error"] = reason_phrase(status);
  details["statusCode"] = status;
  return error_reply_full(c, status, exception_name(status), message, details);
}

/* class-validator failure: 400 "Bad Request Exception", details {errors:[...]}. */
inline Reply validation_reply(const Call& c, const Json::Value& errors) {
  Json::Value details(Json::objectValue);
  details["errors"] = errors;
  return error_reply_full(c, 400, "BadRequestException", "Bad Request Exception", details);
}

/* One class-validator ValidationError. `value` is omitted when undefined. */
inline Json::Value validation_error(const std::string& property, const Json::Value* value,
                                    const std::string& constraint, const std::string& message) {
  Json::Value e(Json::objectValue);
  if (value) e["value"] = *value;
  e["property"] = property;
  e["children"] = Json::Value(Json::arrayValue);
  Json::Value cons(Json::objectValue);
  cons[constraint] = message;
  e["constraints"] = cons;
  return e;
}

/* Reads the body as a JSON object the way Express's json + urlencoded parsers
 * feed NestJS: empty body -> {}, a form body -> an object of strings, anything
 * else is parsed as JSON (a form-typed body that starts with '{' too, so
 * `curl -d '{...}'` works). Malformed JSON or a non-object -> 400 envelope. */
inline std::optional<Reply> read_json_body(const Call& c, Json::Value& out) {
  const std::string& body = c.req.body;
  std::string ctype = to_lower(c.header("Content-Type"));
  std::string first;
  for (char ch : body) if (!std::isspace(static_cast<unsigned char>(ch))) { first = ch; break; }
  if (first.empty()) { out = Json::Value(Json::objectValue); return std::nullopt; }
  if (ctype.find("application/x-www-form-urlencoded") != std::string::npos && first != "{") {
    out = Json::Value(Json::objectValue);
    for (const auto& [k, v] : parse_form(body)) out[k] = v;
    return std::nullopt;
  }
  std::string err;
  if (!json_parse(body, out, err)) {
    return error_reply(c, 400, "Invalid JSON in request body: " + err);
  }
  if (!out.isObject()) return error_reply(c, 400, "Request body must be a JSON object");
  return std::nullopt;
}

/* A random UUID-v4-shaped id (for X-Request-Id). */
inline std::string random_uuid() {
  std::string h = coach::crypto::random_hex(16);
  h[12] = '4';
  static const char* variant = "89ab";
  h[16] = variant[static_cast<unsigned char>(h[16]) % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace calcom_emu
