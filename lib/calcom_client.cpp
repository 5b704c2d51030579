/* calcom_client.cpp: Cal.com API v2 client over http_client. */
#include "calcom_client.hpp"

#include <chrono>

#include "http.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"

namespace coach::calcom {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

Settings settings_from(const Config& cfg) {
  Settings s;
  s.base_url = cfg.cal_api_base_url;
  s.client_id = cfg.cal_oauth_client_id;
  s.client_secret = cfg.cal_oauth_client_secret;
  s.oauth2_client_id = cfg.cal_oauth2_client_id;
  s.oauth2_client_secret = cfg.cal_oauth2_client_secret;
  s.timeout_ms = cfg.http_timeout_ms;
  return s;
}

Client::Client(Settings s, std::vector<Exchange>* recorder) : s_(std::move(s)), rec_(recorder) {}

namespace {

bool is_secret_header(const std::string& k) {
  std::string l;
  for (char c : k) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "authorization" || l == "x-cal-secret-key";
}

/* Maps a non-2xx Cal.com answer to our Error. */
Error upstream_error(long status, const std::string& body) {
  std::string msg;
  auto parsed = json::parse(body);
  if (parsed) {
    const Json::Value& v = *parsed;
    if (v.isObject() && v.isMember("error")) {
      if (v["error"].isObject()) {
        msg = json::str(v["error"], "message");
        // class-validator details: name the first failing property.
        const Json::Value& details = v["error"]["details"];
        const Json::Value errs = details.isObject() ? details["errors"] : Json::Value();
        if (errs.isArray() && !errs.empty() && errs[0].isObject()) {
          const Json::Value* e = &errs[0];
          std::string prop = json::str(*e, "property");
          while ((*e)["children"].isArray() && !(*e)["children"].empty() && (*e)["children"][0].isObject()) {
            e = &(*e)["children"][0];
            prop += "." + json::str(*e, "property");
          }
          std::string why;
          if ((*e)["constraints"].isObject() && !(*e)["constraints"].getMemberNames().empty())
            why = json::str((*e)["constraints"], (*e)["constraints"].getMemberNames()[0].c_str());
          msg += " (" + prop + (why.empty() ? "" : ": " + why) + ")";
        }
      }
      else if (v["error"].isString()) msg = v["error"].asString() + (v.isMember("error_description") ? ": " + json::str(v, "error_description") : "");
    }
    if (msg.empty()) msg = json::str(v, "message");
  }
  if (msg.empty()) msg = "Cal.com answered HTTP " + std::to_string(status);
  else msg = "Cal.com: " + msg;
  if (status == 498) return make_error(401, "cal_token_expired", msg);
  if (status == 401) return make_error(401, "cal_unauthorized", msg);
  if (status == 403) return make_error(403, "cal_forbidden", msg);
  if (status == 404) return make_error(404, "cal_not_found", msg);
  if (status == 409) return make_error(409, "cal_conflict", msg);
  if (status == 429 || status >= 500) return make_error(502, "cal_unavailable", msg);
  return make_error(400, "cal_bad_request", msg);
}

}  // namespace

Result<Json::Value> Client::send(const std::string& method, const std::string& path,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body, const std::string& content_type) {
  http_client::HttpRequest req;
  req.method = method;
  req.url = s_.base_url + path;
  req.headers = headers;
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  req.headers.emplace_back("Accept", "application/json");
  req.body = body;
  req.timeout_ms = s_.timeout_ms;
  auto resp = http_client::perform(req);
  if (rec_) {
    Exchange ex;
    ex.method = method;
    ex.url = req.url;
    for (const auto& [k, v] : req.headers)
      ex.request_headers.emplace_back(k, is_secret_header(k) ? log::mask(v) : v);
    ex.request_body = log::redact(body);
    if (resp) {
      ex.status = resp->status;
      ex.response_body = log::redact(resp->body);
      ex.elapsed_ms = resp->elapsed_ms;
    } else {
      ex.transport_error = resp.error().message;
    }
    rec_->push_back(std::move(ex));
  }
  if (!resp) {
    log::warn("cal.com unreachable", {{"method", method}, {"path", path}, {"error", resp.error().message}});
    return make_error(502, "cal_unreachable", "Cal.com is unreachable: " + resp.error().message);
  }
  log::info("cal.com call", {{"method", method}, {"path", path}, {"status", std::to_string(resp->status)},
                             {"ms", std::to_string(static_cast<int>(resp->elapsed_ms))}});
  if (resp->status < 200 || resp->status >= 300) return upstream_error(resp->status, resp->body);
  if (resp->body.empty()) return Json::Value(Json::objectValue);
  auto parsed = json::parse(resp->body);
  if (!parsed) return make_error(502, "cal_bad_response", "Cal.com sent a body that is not JSON");
  return *parsed;
}

Result<Json::Value> Client::call(const std::string& method, const std::string& path, const Json::Value* body,
                                 const std::string& bearer, const std::string& api_version,
                                 bool client_credentials) {
  std::vector<std::pair<std::string, std::string>> h;
  if (client_credentials) {
    h.emplace_back("x-cal-client-id", s_.client_id);
    h.emplace_back("x-cal-secret-key", s_.client_secret);
  }
  if (!bearer.empty()) h.emplace_back("Authorization", "Bearer " + bearer);
  if (!api_version.empty()) h.emplace_back("cal-api-version", api_version);
  return send(method, path, h, body ? json::write(*body) : "", body ? "application/json" : "");
}

Result<Tokens> parse_tokens(const Json::Value& d, int64_t now) {
  Tokens t;
  if (d.isObject() && d.isMember("accessToken")) {
    t.access_token = json::str(d, "accessToken");
    t.refresh_token = json::str(d, "refreshToken");
    t.access_expires_at_ms = json::num(d, "accessTokenExpiresAt");
    t.refresh_expires_at_ms = json::num(d, "refreshTokenExpiresAt");
  } else if (d.isObject() && d.isMember("access_token")) {
    t.access_token = json::str(d, "access_token");
    t.refresh_token = json::str(d, "refresh_token");
    int64_t expires_in = json::num(d, "expires_in", 1800);
    t.access_expires_at_ms = now + expires_in * 1000;
    int64_t refresh_in = json::num(d, "refresh_token_expires_in", 30LL * 24 * 3600);
    t.refresh_expires_at_ms = now + refresh_in * 1000;
  }
  if (t.access_token.empty() || t.refresh_token.empty() || t.access_expires_at_ms <= 0)
    return make_error(502, "cal_bad_response", "Cal.com token response is missing fields");
  return t;
}

Result<ManagedUser> parse_user(const Json::Value& u) {
  if (!u.isObject() || json::num(u, "id") <= 0)
    return make_error(502, "cal_bad_response", "Cal.com user object is missing its id");
  ManagedUser m;
  m.id = json::num(u, "id");
  m.email = json::str(u, "email");
  m.username = json::str(u, "username");
  m.name = json::str(u, "name");
  m.time_zone = json::str(u, "timeZone");
  m.default_schedule_id = json::num(u, "defaultScheduleId", 0);
  m.raw = u;
  return m;
}

Result<std::pair<ManagedUser, Tokens>> Client::create_managed_user(const NewManagedUser& nu) {
  Json::Value body;
  body["email"] = nu.email;
  body["name"] = nu.name;
  if (!nu.time_zone.empty()) body["timeZone"] = nu.time_zone;
  if (nu.metadata.isObject()) body["metadata"] = nu.metadata;
  auto r = call("POST", "/v2/oauth-clients/" + s_.client_id + "/users", &body, "", "", true);
  if (!r) return r.error();
  const Json::Value& d = (*r)["data"];
  auto u = parse_user(d["user"]);
  if (!u) return u.error();
  auto t = parse_tokens(d, now_ms());
  if (!t) return t.error();
  return std::make_pair(*u, *t);
}

Result<std::vector<ManagedUser>> Client::list_managed_users(int limit, int offset,
                                                             const std::vector<std::string>& emails) {
  std::string q = "?limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
  if (!emails.empty()) {
    std::string joined;
    for (const auto& e : emails) joined += (joined.empty() ? "" : ",") + e;
    q += "&emails=" + url_encode(joined);
  }
  auto r = call("GET", "/v2/oauth-clients/" + s_.client_id + "/users" + q, nullptr, "", "", true);
  if (!r) return r.error();
  std::vector<ManagedUser> out;
  const Json::Value& d = (*r)["data"];
  if (!d.isArray()) return make_error(502, "cal_bad_response", "Cal.com user list is not an array");
  for (const auto& u : d) {
    auto m = parse_user(u);
    if (m) out.push_back(*m);
  }
  return out;
}

Result<ManagedUser> Client::get_managed_user(int64_t id) {
  auto r = call("GET", "/v2/oauth-clients/" + s_.client_id + "/users/" + std::to_string(id), nullptr, "", "", true);
  if (!r) return r.error();
  return parse_user((*r)["data"]);
}

Result<ManagedUser> Client::update_managed_user(int64_t id, const Json::Value& patch) {
  auto r = call("PATCH", "/v2/oauth-clients/" + s_.client_id + "/users/" + std::to_string(id), &patch, "", "", true);
  if (!r) return r.error();
  return parse_user((*r)["data"]);
}

Status Client::delete_managed_user(int64_t id) {
  auto r = call("DELETE", "/v2/oauth-clients/" + s_.client_id + "/users/" + std::to_string(id), nullptr, "", "", true);
  if (!r) return r.error();
  return ok_status();
}

Result<Tokens> Client::force_refresh(int64_t id) {
  auto r = call("POST", "/v2/oauth-clients/" + s_.client_id + "/users/" + std::to_string(id) + "/force-refresh",
                nullptr, "", "", true);
  if (!r) return r.error();
  return parse_tokens((*r)["data"], now_ms());
}

Result<Tokens> Client::refresh(const std::string& refresh_token) {
  Json::Value body;
  body["refreshToken"] = refresh_token;
  std::vector<std::pair<std::string, std::string>> h = {{"x-cal-secret-key", s_.client_secret}};
  auto r = send("POST", "/v2/oauth/" + s_.client_id + "/refresh", h, json::write(body), "application/json");
  if (!r) return r.error();
  return parse_tokens((*r)["data"], now_ms());
}

Result<Json::Value> Client::me(const std::string& access_token) {
  auto r = call("GET", "/v2/me", nullptr, access_token);
  if (!r) return r.error();
  return (*r)["data"];
}

std::string Client::oauth2_authorize_url(const std::string& authorize_base, const std::string& redirect_uri,
                                         const std::string& state) const {
  return authorize_base + "?client_id=" + url_encode(s_.oauth2_client_id) + "&redirect_uri=" +
         url_encode(redirect_uri) + "&state=" + url_encode(state) + "&response_type=code" +
         "&scope=" + url_encode("READ_BOOKING READ_PROFILE");
}

Result<Tokens> Client::oauth2_exchange_code(const std::string& code, const std::string& redirect_uri) {
  std::string form = "grant_type=authorization_code&client_id=" + url_encode(s_.oauth2_client_id) +
                     "&client_secret=" + url_encode(s_.oauth2_client_secret) + "&code=" + url_encode(code) +
                     "&redirect_uri=" + url_encode(redirect_uri);
  auto r = send("POST", "/v2/auth/oauth2/token", {}, form, "application/x-www-form-urlencoded");
  if (!r) return r.error();
  return parse_tokens(*r, now_ms());
}

Result<Tokens> Client::oauth2_refresh(const std::string& refresh_token) {
  std::string form = "grant_type=refresh_token&client_id=" + url_encode(s_.oauth2_client_id) +
                     "&client_secret=" + url_encode(s_.oauth2_client_secret) +
                     "&refresh_token=" + url_encode(refresh_token);
  auto r = send("POST", "/v2/auth/oauth2/token", {}, form, "application/x-www-form-urlencoded");
  if (!r) return r.error();
  return parse_tokens(*r, now_ms());
}

}  // namespace coach::calcom
