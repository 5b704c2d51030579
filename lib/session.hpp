/* session.hpp: who is making this request. Verifies the Clerk session token
 * (cookie __session or Authorization: Bearer), maps the Clerk user to our users
 * row (created as an agent on first sign-in), and issues/checks CSRF tokens for
 * cookie-authenticated forms. */
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <json/json.h>

#include "config.hpp"
#include "db.hpp"
#include "http.hpp"
#include "result.hpp"

namespace coach::session {

struct User {
  int64_t id = 0;
  std::string clerk_user_id, email, name, role, time_zone;
  bool is_coach() const { return role == "coach"; }
  bool is_admin() const { return role == "admin"; }
};

struct Auth {
  std::optional<User> user;     // empty: anonymous
  std::string session_id;       // Clerk sid
  bool via_cookie = false;      // cookie auth needs CSRF on unsafe methods
  std::string csrf_token;       // for forms; "" when anonymous
  std::optional<Error> failure; // why a presented token was refused (expired, forged...)
};

/* Verifies the request's token (the process-wide JWKS cache fetches from
 * cfg.clerk_jwks_url). Never fails hard: a bad token gives an anonymous Auth
 * with failure set; a DB error propagates as an exception. */
Auth authenticate(const Config& cfg, db::Db& db, const Request& req);

/* CSRF token bound to the Clerk session id: hex HMAC(csrf_secret, sid). */
std::string csrf_token_for(const Config& cfg, const std::string& session_id);

/* For POST/PUT/PATCH/DELETE with cookie auth: the form field csrf_token or
 * header X-CSRF-Token must match. Bearer-authenticated calls need none. */
bool csrf_ok(const Config& cfg, const Request& req, const Auth& auth,
             const std::map<std::string, std::string>& form);

/* 401 (JSON) or a redirect to the sign-in page (HTML), naming why. */
Response require_sign_in(const Config& cfg, const Request& req, const Auth& auth);

/* Template context for the layout: user, sign-in/out links, csrf token. */
Json::Value page_context(const Config& cfg, const Request& req, const Auth& auth);

}  // namespace coach::session
