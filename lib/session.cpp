/* session.cpp: Clerk token -> our user, CSRF. */
#include "session.hpp"

#include <memory>
#include <mutex>

#include "clerk_auth.hpp"
#include "crypto.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"

namespace coach::session {
namespace {

clerk::Verifier& verifier(const Config& cfg) {
  // One per process: the JWKS cache lives as long as the FastCGI process.
  static std::once_flag once;
  static std::unique_ptr<clerk::Verifier> v;
  std::call_once(once, [&] {
    clerk::VerifierConfig vc;
    vc.jwks_url = cfg.clerk_jwks_url;
    vc.issuer = cfg.clerk_issuer;
    vc.authorized_parties = cfg.clerk_authorized_parties;
    long timeout = cfg.http_timeout_ms;
    vc.fetch_jwks = [timeout](const std::string& url) -> Result<std::string> {
      http_client::HttpRequest r;
      r.url = url;
      r.timeout_ms = std::min<long>(timeout, 5000);
      auto resp = http_client::perform(r);
      if (!resp) return resp.error();
      if (resp->status != 200)
        return make_error(503, "auth_unavailable", "JWKS endpoint answered " + std::to_string(resp->status));
      return resp->body;
    };
    v = std::make_unique<clerk::Verifier>(vc);
  });
  return *v;
}

User user_from_row(const db::Row& r) {
  User u;
  u.id = r.i64("id");
  u.clerk_user_id = r.str("clerk_user_id");
  u.email = r.str("email");
  u.name = r.str("name");
  u.role = r.str("role");
  u.time_zone = r.str("time_zone");
  return u;
}

}  // namespace

std::string csrf_token_for(const Config& cfg, const std::string& session_id) {
  return crypto::hmac_sha256_hex(cfg.csrf_secret, "csrf:" + session_id);
}

Auth authenticate(const Config& cfg, db::Db& db, const Request& req) {
  Auth a;
  std::string authz = req.header("authorization");
  if (clerk::token_from_request(authz, req.cookies).empty()) return a;
  auto claims = verifier(cfg).authenticate(authz, req.cookies);
  if (!claims) {
    a.failure = claims.error();
    return a;
  }
  a.session_id = claims->sid.empty() ? claims->sub : claims->sid;
  a.via_cookie = authz.empty();
  auto row = db.query_one("SELECT id, clerk_user_id, email, name, role, time_zone FROM users WHERE clerk_user_id = ?",
                          {claims->sub});
  if (!row) {
    // First sign-in of a Clerk user we have not seen: an agent account.
    Json::Value payload;
    if (auto p = json::parse(claims->payload_json); p) payload = *p;
    std::string email = json::str(payload, "email");
    std::string name = json::str(payload, "name");
    if (email.empty() || email.size() > 254) email = claims->sub + "@users.invalid";
    if (name.empty() || name.size() > 200) name = "New member";
    db.exec("INSERT IGNORE INTO users (clerk_user_id, email, name, role) VALUES (?, ?, ?, 'agent')",
            {claims->sub, email, name});
    row = db.query_one("SELECT id, clerk_user_id, email, name, role, time_zone FROM users WHERE clerk_user_id = ?",
                       {claims->sub});
    if (!row) {
      a.failure = make_error(403, "account_conflict", "Your e-mail address is already used by another account");
      return a;
    }
    log::info("user provisioned", {{"user_id", row->str("id")}});
  }
  a.user = user_from_row(*row);
  a.csrf_token = csrf_token_for(cfg, a.session_id);
  return a;
}

bool csrf_ok(const Config& cfg, const Request& req, const Auth& auth, const std::map<std::string, std::string>& form) {
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") return true;
  if (!auth.user) return false;
  if (!auth.via_cookie) return true;
  std::string given = req.header("x-csrf-token");
  if (given.empty()) {
    auto it = form.find("csrf_token");
    if (it != form.end()) given = it->second;
  }
  return !given.empty() && crypto::constant_time_equal(given, csrf_token_for(cfg, auth.session_id));
}

Response require_sign_in(const Config& cfg, const Request& req, const Auth& auth) {
  std::string why = auth.failure ? auth.failure->message : "Please sign in to continue";
  std::string code = auth.failure ? auth.failure->code : "signed_out";
  if (auth.failure && auth.failure->http_status == 503) return respond_error(req, 503, code, why);
  if (req.wants_json()) return respond_error(req, 401, code, why);
  std::string back = cfg.public_base_url + req.path + (req.query_string.empty() ? "" : "?" + req.query_string);
  return redirect_response("/sign-in?redirect_url=" + url_encode(back) + "&reason=" + url_encode(code), 303);
}

Json::Value page_context(const Config& cfg, const Request& req, const Auth& auth) {
  Json::Value c(Json::objectValue);
  if (auth.user) {
    c["user"]["name"] = auth.user->name;
    c["user"]["email"] = auth.user->email;
    c["user"]["role"] = auth.user->role;
    c["user"]["is_coach"] = auth.user->is_coach();
    c["user"]["is_admin"] = auth.user->is_admin();
    c["csrf_token"] = auth.csrf_token;
  }
  c["sign_in_url"] = "/sign-in?redirect_url=" + url_encode(cfg.public_base_url + req.path);
  c["mode_local"] = cfg.mode == "local";
  c["request_id"] = req.request_id;
  return c;
}

}  // namespace coach::session
