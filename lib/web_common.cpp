/* web_common.cpp: run_endpoint and helpers shared by the handlers. */
#include <algorithm>
#include <cctype>
#include <iostream>

#include "fcgi_serve.hpp"
#include "html.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "slot_engine.hpp"
#include "web.hpp"

namespace coach::web {

Response dispatch(Context& ctx, const Request& req, HandlerFn fn) {
  try {
    return fn(ctx, req);
  } catch (const db::DbError& e) {
    Error err = db::to_error(e);
    return respond_error(req, err.http_status, err.code, err.message);
  }
}

int run_endpoint(const std::string& name, HandlerFn fn) {
  const Config cfg = load_config_or_die();
  log::set_output(cfg.log_file);
  http_client::global_init();
  db::Db db(db::settings_from(cfg));
  Context ctx{cfg, db};
  fcgi::ServeOptions opts;
  opts.endpoint = name;
  return fcgi::serve(opts, [&](const Request& req) { return dispatch(ctx, req, fn); });
}

Response method_not_allowed(const Request& req, const std::string& allowed) {
  Response r = respond_error(req, 405, "method_not_allowed", "Method " + req.method + " is not allowed here; use " + allowed);
  r.headers.emplace_back("Allow", allowed);
  return r;
}

bool is_form(const Request& req) {
  return req.header("content-type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

bool is_json(const Request& req) { return req.header("content-type").rfind("application/json", 0) == 0; }

std::map<std::string, std::string> form_fields(const Request& req) {
  if (!is_form(req)) return {};
  return parse_urlencoded(req.body);
}

Json::Value exchanges_json(const std::vector<calcom::Exchange>& ex) {
  Json::Value arr(Json::arrayValue);
  for (const auto& e : ex) {
    Json::Value v;
    v["method"] = e.method;
    v["url"] = e.url;
    std::string hdrs;
    for (const auto& [k, val] : e.request_headers) hdrs += k + ": " + val + "\n";
    v["request_headers"] = hdrs;
    std::string body = e.request_body;
    if (auto p = json::parse(body); p) body = json::write_pretty(*p);
    v["request_body"] = body;
    v["status"] = e.transport_error.empty() ? std::to_string(e.status) : "transport error";
    v["ok"] = e.transport_error.empty() && e.status >= 200 && e.status < 300;
    std::string resp = e.transport_error.empty() ? e.response_body : e.transport_error;
    if (auto p = json::parse(resp); p) resp = json::write_pretty(*p);
    v["response_body"] = resp;
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", e.elapsed_ms);
    v["elapsed_ms"] = ms;
    arr.append(v);
  }
  return arr;
}

Response json_ok(int status, const Json::Value& data) {
  Json::Value v;
  v["data"] = data;
  return json_response(status, json::write(v));
}

Response page(Context& ctx, const Request& req, const session::Auth& auth, const std::string& tmpl,
              const std::string& title, Json::Value data, int status) {
  Json::Value base = session::page_context(ctx.cfg, req, auth);
  for (const auto& k : data.getMemberNames()) base[k] = data[k];
  return html_response(status, html::render_page(tmpl, title, base));
}

}  // namespace coach::web

namespace coach::web {

Response error_for(Context& ctx, const Request& req, const session::Auth& auth, int status, const std::string& code,
                   const std::string& message) {
  if (req.wants_json()) return respond_error(req, status, code, message);
  Json::Value data;
  data["status"] = status;
  data["code"] = code;
  data["message"] = message;
  Response r = page(ctx, req, auth, "error", "Error " + std::to_string(status), data, status);
  r.error_code = code;
  return r;
}


/* ---- form and path helpers ---- */

std::string field(const Form& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? "" : it->second;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string clip(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 64) + "…"; }

Json::Value text_or_null(const std::string& s) { return s.empty() ? Json::Value() : Json::Value(s); }

Result<int64_t> positive_id(const std::string& s, const std::string& what) {
  if (!all_digits(s) || s.size() > 18) return make_error(400, "invalid_field", what + " must be a positive number");
  int64_t v = std::stoll(s);
  if (v <= 0) return make_error(400, "invalid_field", what + " must be a positive number");
  return v;
}

std::vector<std::string> path_tail(const std::string& path, const std::string& prefix) {
  std::vector<std::string> parts;
  if (path.size() <= prefix.size()) return parts;
  std::string rest = path.substr(prefix.size());
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    if (slash > pos) parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

}  // namespace coach::web

namespace coach::web {

/* The zones offered in time-zone selects. */
const std::vector<std::string>& common_zones() {
  static const std::vector<std::string> zones = {
      "UTC",           "America/New_York",  "America/Chicago",   "America/Denver",    "America/Phoenix",
      "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Mexico_City",
      "America/Sao_Paulo", "Europe/London",   "Europe/Dublin",     "Europe/Lisbon",     "Europe/Madrid",
      "Europe/Paris",  "Europe/Berlin",     "Europe/Athens",     "Africa/Johannesburg", "Asia/Dubai",
      "Asia/Kolkata",  "Asia/Singapore",    "Asia/Hong_Kong",    "Asia/Tokyo",        "Australia/Perth",
      "Australia/Sydney", "Pacific/Auckland"};
  return zones;
}

Json::Value zone_options(const std::string& selected) {
  Json::Value arr(Json::arrayValue);
  const auto& zones = common_zones();
  bool listed = std::find(zones.begin(), zones.end(), selected) != zones.end();
  if (!listed && !selected.empty() && slots::is_valid_zone(selected)) {
    Json::Value o;
    o["value"] = selected;
    o["selected"] = true;
    arr.append(o);
  }
  for (const auto& z : zones) {
    Json::Value o;
    o["value"] = z;
    o["selected"] = z == selected;
    arr.append(o);
  }
  return arr;
}

}  // namespace coach::web
