/* zoom_client.cpp: Zoom S2S OAuth token and meeting calls over http_client. */
#include "zoom_client.hpp"

#include <cctype>

#include "crypto.hpp"
#include "http.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"

namespace coach::zoom {

Settings settings_from(const Config& cfg) {
  Settings s;
  s.api_base_url = cfg.zoom_api_base_url;
  while (!s.api_base_url.empty() && s.api_base_url.back() == '/') s.api_base_url.pop_back();
  s.oauth_token_url = cfg.zoom_oauth_token_url;
  s.account_id = cfg.zoom_account_id;
  s.client_id = cfg.zoom_client_id;
  s.client_secret = cfg.zoom_client_secret;
  s.timeout_ms = cfg.http_timeout_ms;
  return s;
}

bool configured(const Settings& s) {
  return !s.api_base_url.empty() && !s.oauth_token_url.empty() && !s.account_id.empty() && !s.client_id.empty() &&
         !s.client_secret.empty();
}

Client::Client(Settings s, std::vector<Exchange>* recorder) : s_(std::move(s)), rec_(recorder) {}

namespace {

/* Masks what must not be shown: access tokens and start_url's zak. */
std::string mask_body(const std::string& body) {
  auto p = json::parse(body);
  if (!p || !p->isObject()) return log::redact(body);
  Json::Value v = *p;
  if (v.isMember("access_token")) v["access_token"] = log::mask(json::str(v, "access_token"));
  if (v.isMember("start_url")) {
    std::string su = json::str(v, "start_url");
    auto q = su.find('?');
    v["start_url"] = q == std::string::npos ? su : su.substr(0, q) + "?zak=…";
  }
  return log::redact(json::write(v));
}

Error upstream_error(long status, const std::string& body) {
  std::string msg;
  int64_t code = 0;
  if (auto p = json::parse(body); p && p->isObject()) {
    msg = json::str(*p, "message");
    code = json::num(*p, "code");
    if (msg.empty()) msg = json::str(*p, "reason");
    if ((*p)["errors"].isArray() && !(*p)["errors"].empty() && (*p)["errors"][0].isObject())
      msg += " (" + json::str((*p)["errors"][0], "field") + ": " + json::str((*p)["errors"][0], "message") + ")";
  }
  if (msg.empty()) msg = "Zoom answered HTTP " + std::to_string(status);
  else msg = "Zoom: " + msg + (code ? " [code " + std::to_string(code) + "]" : "");
  if (status == 401) return make_error(401, "zoom_token_invalid", msg);
  if (status == 404) return make_error(404, "zoom_not_found", msg);
  if (status == 429) return make_error(502, "zoom_rate_limited", msg);
  if (status >= 500) return make_error(502, "zoom_unavailable", msg);
  return make_error(400, "zoom_bad_request", msg);
}

void record(std::vector<Exchange>* rec, const http_client::HttpRequest& req, const Result<http_client::HttpResponse>& resp,
            const std::string& shown_url) {
  if (!rec) return;
  Exchange ex;
  ex.method = req.method;
  ex.url = shown_url;
  ex.request_body = log::redact(req.body);
  if (resp) {
    ex.status = resp->status;
    ex.response_body = mask_body(resp->body);
    ex.elapsed_ms = resp->elapsed_ms;
  } else {
    ex.transport_error = resp.error().message;
  }
  rec->push_back(std::move(ex));
}

}  // namespace

Result<Token> Client::fetch_token() {
  if (!configured(s_)) return make_error(503, "zoom_not_configured", "Zoom is not configured (zoom-* keys)");
  http_client::HttpRequest req;
  req.method = "POST";
  req.url = s_.oauth_token_url + (s_.oauth_token_url.find('?') == std::string::npos ? "?" : "&") +
            "grant_type=account_credentials&account_id=" + url_encode(s_.account_id);
  req.headers = {{"Authorization", "Basic " + crypto::base64_encode(s_.client_id + ":" + s_.client_secret)},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.timeout_ms = s_.timeout_ms;
  auto resp = http_client::perform(req);
  record(rec_, req, resp, req.url);
  if (!resp) {
    log::warn("zoom token endpoint unreachable", {{"error", resp.error().message}});
    return make_error(502, "zoom_unreachable", "Zoom is unreachable: " + resp.error().message);
  }
  log::info("zoom token fetch", {{"status", std::to_string(resp->status)}});
  if (resp->status != 200) {
    Error e = upstream_error(resp->status, resp->body);
    if (resp->status == 400 || resp->status == 401 || resp->status == 403) {
      std::string reason;
      if (auto p = json::parse(resp->body); p && p->isObject())
        reason = json::str(*p, "reason", json::str(*p, "error"));
      return make_error(502, "zoom_auth_failed",
                        "Zoom refused our credentials" + (reason.empty() ? std::string() : ": " + reason));
    }
    return e;
  }
  auto p = json::parse(resp->body);
  if (!p || !p->isObject() || !(*p)["access_token"].isString() || !(*p)["expires_in"].isNumeric())
    return make_error(502, "zoom_bad_response", "Zoom's token answer lacks access_token/expires_in");
  Token t;
  t.access_token = (*p)["access_token"].asString();
  t.expires_in_s = (*p)["expires_in"].asInt64();
  t.scope = json::str(*p, "scope");
  t.api_url = json::str(*p, "api_url");
  if (t.access_token.empty() || t.expires_in_s <= 0)
    return make_error(502, "zoom_bad_response", "Zoom sent an empty token or a non-positive lifetime");
  return t;
}

Result<Json::Value> Client::call(const std::string& method, const std::string& path, const Json::Value* body,
                                 const std::string& access_token) {
  if (!configured(s_)) return make_error(503, "zoom_not_configured", "Zoom is not configured (zoom-* keys)");
  http_client::HttpRequest req;
  req.method = method;
  req.url = s_.api_base_url + path;
  req.headers = {{"Authorization", "Bearer " + access_token}, {"Accept", "application/json"}};
  if (body) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = json::write(*body);
  }
  req.timeout_ms = s_.timeout_ms;
  auto resp = http_client::perform(req);
  record(rec_, req, resp, req.url);
  if (!resp) {
    log::warn("zoom unreachable", {{"method", method}, {"path", path}, {"error", resp.error().message}});
    return make_error(502, "zoom_unreachable", "Zoom is unreachable: " + resp.error().message);
  }
  log::info("zoom call", {{"method", method}, {"path", path}, {"status", std::to_string(resp->status)},
                          {"ms", std::to_string(static_cast<int>(resp->elapsed_ms))}});
  if (resp->status < 200 || resp->status >= 300) return upstream_error(resp->status, resp->body);
  if (resp->body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::Value(Json::objectValue);
  auto parsed = json::parse(resp->body);
  if (!parsed) return make_error(502, "zoom_bad_response", "Zoom sent a body that is not JSON");
  return *parsed;
}

Status validate(const MeetingSpec& m) {
  auto bad = [](const std::string& f, const std::string& why) { return make_error(400, "invalid_field", f + " " + why); };
  if (m.topic.empty() || m.topic.size() > 200) return bad("topic", "must be 1-200 characters");
  if (m.duration_min < 1 || m.duration_min > 1440) return bad("duration", "must be 1-1440 minutes");
  if (m.auto_recording != "none" && m.auto_recording != "local" && m.auto_recording != "cloud")
    return bad("auto_recording", "must be none, local or cloud");
  const std::string& s = m.start_time_utc;
  bool shape = s.size() == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z';
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (shape && !std::isdigit(static_cast<unsigned char>(s[i]))) shape = false;
  if (!shape) return bad("start_time", "must be YYYY-MM-DDTHH:MM:SSZ (UTC)");
  if (m.agenda.size() > 2000) return bad("agenda", "must be at most 2000 characters");
  if (m.timezone.size() > 64) return bad("timezone", "is too long");
  return ok_status();
}

Json::Value create_body(const MeetingSpec& m) {
  Json::Value b(Json::objectValue);
  b["topic"] = m.topic;
  b["type"] = 2;
  b["start_time"] = m.start_time_utc;
  b["duration"] = m.duration_min;
  if (!m.timezone.empty()) b["timezone"] = m.timezone;
  if (!m.agenda.empty()) b["agenda"] = m.agenda;
  Json::Value& st = b["settings"];
  st["waiting_room"] = m.waiting_room;
  st["join_before_host"] = m.join_before_host;
  st["auto_recording"] = m.auto_recording;
  st["host_video"] = true;
  st["participant_video"] = true;
  st["approval_type"] = 2;
  st["email_notification"] = false;
  return b;
}

int64_t meeting_id_of(const Json::Value& v) {
  if (v.isInt64()) return v.asInt64() > 0 ? v.asInt64() : 0;
  if (v.isString()) {
    const std::string s = v.asString();
    if (s.empty() || s.size() > 18) return 0;
    for (char c : s)
      if (c < '0' || c > '9') return 0;
    return std::stoll(s);
  }
  return 0;
}

Result<Meeting> parse_meeting(const Json::Value& v) {
  if (!v.isObject()) return make_error(502, "zoom_bad_response", "Zoom's meeting is not a JSON object");
  Meeting m;
  m.id = meeting_id_of(v["id"]);
  if (!m.id) return make_error(502, "zoom_bad_response", "Zoom's meeting has no id");
  m.uuid = json::str(v, "uuid");
  m.host_id = json::str(v, "host_id");
  m.topic = json::str(v, "topic");
  m.status = json::str(v, "status");
  m.start_time = json::str(v, "start_time");
  m.timezone = json::str(v, "timezone");
  m.agenda = json::str(v, "agenda");
  m.join_url = json::str(v, "join_url");
  m.start_url = json::str(v, "start_url");
  m.password = json::str(v, "password");
  m.duration_min = static_cast<int>(json::num(v, "duration"));
  const Json::Value& st = v["settings"];
  if (st.isObject()) {
    m.waiting_room = st["waiting_room"].isBool() && st["waiting_room"].asBool();
    m.join_before_host = st["join_before_host"].isBool() && st["join_before_host"].asBool();
    m.auto_recording = json::str(st, "auto_recording");
  }
  return m;
}

bool is_zoom_url(const std::string& url) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) rest = url.substr(8);
  else if (url.rfind("http://", 0) == 0) rest = url.substr(7);
  else return false;
  std::string host = rest.substr(0, rest.find_first_of("/?#:"));
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host == "zoom.us" || (host.size() > 8 && host.compare(host.size() - 8, 8, ".zoom.us") == 0);
}

}  // namespace coach::zoom
