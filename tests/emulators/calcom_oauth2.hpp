/* calcom_oauth2.hpp: standard OAuth2 for connecting an existing (non-managed)
 * Cal.com account (§1.7 of the reference): the consent page at
 * /auth/oauth2/authorize (app.cal.com in production), the token endpoint
 * POST /v2/auth/oauth2/token and GET /v2/auth/oauth2/clients/{clientId}.
 * The tokens it issues work on /v2/me like managed-user tokens. */
#pragma once
#include "calcom_auth.hpp"

namespace calcom_emu {

inline Reply html_reply(int status, const std::string& html) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = html;
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline std::string html_page(const std::string& title, const std::string& body_html) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         html_escape(title) + "</title></head>\n<body>\n" + body_html + "</body></html>\n";
}

/* An error shown to the user instead of redirecting (bad client or redirect URI). */
inline Reply oauth_error_page(int status, const std::string& message) {
  return html_reply(status, html_page("Cal.com: authorization error",
                                      "<h1>Authorization error</h1>\n<p id=\"error\">" +
                                          html_escape(message) + "</p>\n"));
}

inline Reply redirect_reply(const std::string& location, int status = 303) {
  Reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "Redirecting to " + location + "\n";
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

/* redirect_uri + ?/& + k=v&... (values percent-encoded, empty values left out). */
inline std::string with_query(const std::string& uri,
                              const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out = uri;
  char sep = uri.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : kv) {
    if (v.empty()) continue;
    out += sep + url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return out;
}

/* The authorization request's parameters, from the query (GET) or form (POST). */
struct AuthorizeParams {
  std::string client_id, redirect_uri, state, scope, response_type;
  std::string code_challenge, code_challenge_method;
};

/* Checks client_id and redirect_uri (exact match); on failure the error page
 * to show, since redirecting to an unverified URI is what OAuth forbids. */
inline std::optional<Reply> check_authorize_client(const Config& cfg, const AuthorizeParams& p) {
  if (cfg.oauth2_client_id.empty() || p.client_id != cfg.oauth2_client_id) {
    return oauth_error_page(400, "Unknown OAuth client: client_id \"" + p.client_id + "\"");
  }
  if (p.redirect_uri != cfg.oauth2_redirect_uri) {
    return oauth_error_page(400, "redirect_uri \"" + p.redirect_uri +
                                     "\" does not match the redirect URI registered for this client");
  }
  return std::nullopt;
}

/* Errors that can go back to the (verified) redirect URI, or nullopt. */
inline std::optional<Reply> check_authorize_request(const AuthorizeParams& p) {
  if (!p.response_type.empty() && p.response_type != "code") {
    return redirect_reply(with_query(p.redirect_uri, {{"error", "unsupported_response_type"},
                                                      {"state", p.state}}));
  }
  if (!p.code_challenge.empty() && !p.code_challenge_method.empty() &&
      p.code_challenge_method != "S256") {
    return redirect_reply(with_query(p.redirect_uri,
                                     {{"error", "invalid_request"},
                                      {"error_description", "code_challenge_method must be S256"},
                                      {"state", p.state}}));
  }
  return std::nullopt;
}

inline std::string hidden_fields(const AuthorizeParams& p) {
  std::string out;
  auto field = [&](const char* name, const std::string& value) {
    out += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + html_escape(value) +
           "\">";
  };
  field("client_id", p.client_id);
  field("redirect_uri", p.redirect_uri);
  field("state", p.state);
  field("scope", p.scope);
  field("code_challenge", p.code_challenge);
  field("code_challenge_method", p.code_challenge_method);
  return out;
}

/* The regular (non-managed, non-owner) accounts one can sign in as. */
inline std::vector<const User*> regular_accounts(const State& st) {
  std::vector<const User*> out;
  for (const auto& [id, u] : st.users) {
    if (!u.is_platform_managed && !u.is_platform_owner) out.push_back(&u);
  }
  return out;
}

/* GET /auth/oauth2/authorize?client_id&redirect_uri&state&scope[&code_challenge&
 * code_challenge_method=S256]: the consent page, one Allow button per seeded
 * account plus Deny. Both post back to /auth/oauth2/authorize. */
inline Reply handle_authorize_page(Call& c) {
  AuthorizeParams p;
  p.client_id = c.query("client_id").value_or("");
  p.redirect_uri = c.query("redirect_uri").value_or("");
  p.state = c.query("state").value_or("");
  p.scope = c.query("scope").value_or("");
  p.response_type = c.query("response_type").value_or("");
  p.code_challenge = c.query("code_challenge").value_or("");
  p.code_challenge_method = c.query("code_challenge_method").value_or("");
  if (auto err = check_authorize_client(c.cfg, p)) return *err;
  if (auto err = check_authorize_request(p)) return *err;

  std::string body = "<h1>Authorize " + html_escape(p.client_id) + "</h1>\n";
  body += "<p>The application <strong>" + html_escape(p.client_id) +
          "</strong> wants to access your Cal.com account.</p>\n";
  if (!p.scope.empty()) body += "<p>Requested scope: <code>" + html_escape(p.scope) + "</code></p>\n";
  body += "<p>Sign in as:</p>\n<ul>\n";
  for (const User* u : regular_accounts(c.st)) {
    const std::string id = std::to_string(u->id);
    body += "<li><form method=\"post\" action=\"/auth/oauth2/authorize\">" + hidden_fields(p) +
            "<input type=\"hidden\" name=\"user_id\" value=\"" + id + "\">" +
            "<button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow-" + id +
            "\">Allow as " + html_escape(u->name.asString()) + " (" + html_escape(u->email) +
            ")</button></form></li>\n";
  }
  body += "</ul>\n<form method=\"post\" action=\"/auth/oauth2/authorize\">" + hidden_fields(p) +
          "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>"
          "</form>\n";
  return html_reply(200, html_page("Authorize " + p.client_id + " - Cal.com", body));
}

/* POST /auth/oauth2/authorize (form: the hidden fields, user_id, decision):
 * allow -> 303 redirect_uri?code=..&state=..; deny -> ?error=access_denied&state=.. */
inline Reply handle_authorize_decision(Call& c) {
  auto form = parse_form(c.req.body);
  auto get = [&](const char* k) { auto it = form.find(k); return it == form.end() ? "" : it->second; };
  AuthorizeParams p;
  p.client_id = get("client_id");
  p.redirect_uri = get("redirect_uri");
  p.state = get("state");
  p.scope = get("scope");
  p.response_type = get("response_type");
  p.code_challenge = get("code_challenge");
  p.code_challenge_method = get("code_challenge_method");
  if (auto err = check_authorize_client(c.cfg, p)) return *err;
  if (auto err = check_authorize_request(p)) return *err;
  const std::string decision = get("decision");
  if (decision == "deny") {
    return redirect_reply(with_query(p.redirect_uri, {{"error", "access_denied"}, {"state", p.state}}));
  }
  if (decision != "allow") return oauth_error_page(400, "decision must be allow or deny");
  int64_t user_id = 0;
  const User* user = nullptr;
  if (parse_int64(get("user_id"), user_id)) {
    for (const User* u : regular_accounts(c.st)) if (u->id == user_id) user = u;
  }
  if (!user) return oauth_error_page(400, "Unknown account \"" + get("user_id") + "\"");

  AuthCode code;
  code.client_id = p.client_id;
  code.redirect_uri = p.redirect_uri;
  code.user_id = user->id;
  code.scope = p.scope;
  code.code_challenge = p.code_challenge;
  code.code_challenge_method = p.code_challenge.empty() ? "" : "S256";
  code.expires_at_ms = c.now_ms + c.cfg.auth_code_ttl_s * 1000;
  std::string value = coach::crypto::random_hex(20);
  c.st.auth_codes[value] = code;
  return redirect_reply(with_query(p.redirect_uri, {{"code", value}, {"state", p.state}}));
}

/* RFC 6749 §5.2 error: {"error":..., "error_description":...}. */
inline Reply oauth2_error(Call& c, int status, const std::string& error, const std::string& description) {
  c.st.counters.n_oauth2_errors++;
  Json::Value j(Json::objectValue);
  j["error"] = error;
  j["error_description"] = description;
  Reply r;
  r.status = status;
  r.body = json_dump(j);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

inline Reply oauth2_tokens_reply(Call& c, int64_t user_id, const std::string& scope) {
  KeyPair kp = mint_pair(c.st, TokenFamily::oauth2, c.cfg.oauth2_client_id, user_id, c.now_ms,
                         c.cfg.oauth2_access_ttl_s, c.cfg.oauth2_refresh_ttl_s, scope, false);
  Json::Value j(Json::objectValue);
  j["access_token"] = kp.access_token;
  j["token_type"] = "bearer";
  j["refresh_token"] = kp.refresh_token;
  j["expires_in"] = static_cast<Json::Int64>(c.cfg.oauth2_access_ttl_s);
  Reply r;
  r.body = json_dump(j);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

/* POST /v2/auth/oauth2/token, form-urlencoded or JSON; client_id in the body
 * (HTTP Basic also accepted). grant_type authorization_code (single-use codes,
 * 10 minutes, exact redirect_uri, PKCE S256 when the code was made with a
 * challenge) or refresh_token (rotating). */
inline Reply handle_oauth2_token(Call& c) {
  c.st.counters.n_oauth2_token_calls++;
  std::map<std::string, std::string> p;
  std::string ctype = to_lower(c.header("Content-Type"));
  if (ctype.find("json") != std::string::npos) {
    Json::Value body;
    std::string err;
    if (!json_parse(c.req.body.empty() ? "{}" : c.req.body, body, err) || !body.isObject()) {
      return oauth2_error(c, 400, "invalid_request", "The request body is not a JSON object");
    }
    for (const auto& k : body.getMemberNames()) {
      if (body[k].isString()) p[k] = body[k].asString();
      else if (json_is_number(body[k])) p[k] = body[k].asString();
    }
  } else {
    p = parse_form(c.req.body);
  }
  auto get = [&](const char* k) { auto it = p.find(k); return it == p.end() ? "" : it->second; };
  std::string client_id = get("client_id"), client_secret = get("client_secret");
  std::string basic = c.header("Authorization");
  if (starts_with(basic, "Basic ")) {
    auto decoded = coach::crypto::base64_decode(trim(basic.substr(6)));
    if (!decoded || decoded->find(':') == std::string::npos) {
      return oauth2_error(c, 401, "invalid_client", "Malformed Basic authorization header");
    }
    size_t colon = decoded->find(':');
    if (client_id.empty()) client_id = url_decode(decoded->substr(0, colon));
    if (client_secret.empty()) client_secret = url_decode(decoded->substr(colon + 1));
  }
  const std::string grant_type = get("grant_type");
  if (grant_type.empty()) return oauth2_error(c, 400, "invalid_request", "grant_type is required");
  if (grant_type != "authorization_code" && grant_type != "refresh_token") {
    return oauth2_error(c, 400, "unsupported_grant_type",
                        "grant_type must be authorization_code or refresh_token");
  }
  if (client_id.empty()) return oauth2_error(c, 400, "invalid_request", "client_id is required");
  if (c.cfg.oauth2_client_id.empty() || client_id != c.cfg.oauth2_client_id) {
    return oauth2_error(c, 401, "invalid_client", "Unknown client");
  }
  if (!client_secret.empty() &&
      !coach::crypto::constant_time_equal(client_secret, c.cfg.oauth2_client_secret)) {
    return oauth2_error(c, 401, "invalid_client", "Invalid client credentials");
  }

  if (grant_type == "authorization_code") {
    const std::string code = get("code"), redirect_uri = get("redirect_uri");
    const std::string verifier = get("code_verifier");
    if (code.empty()) return oauth2_error(c, 400, "invalid_request", "code is required");
    if (redirect_uri.empty()) return oauth2_error(c, 400, "invalid_request", "redirect_uri is required");
    auto it = c.st.auth_codes.find(code);
    if (it == c.st.auth_codes.end() || it->second.client_id != client_id) {
      return oauth2_error(c, 400, "invalid_grant", "Invalid or already used authorization code");
    }
    if (c.now_ms > it->second.expires_at_ms) {
      c.st.auth_codes.erase(it);
      return oauth2_error(c, 400, "invalid_grant", "Authorization code expired");
    }
    const AuthCode ac = it->second;
    if (client_secret.empty() && ac.code_challenge.empty()) {
      return oauth2_error(c, 401, "invalid_client", "client_secret is required");
    }
    if (redirect_uri != ac.redirect_uri) {
      return oauth2_error(c, 400, "invalid_grant", "redirect_uri does not match the authorization request");
    }
    if (!ac.code_challenge.empty()) {
      if (verifier.empty()) return oauth2_error(c, 400, "invalid_request", "code_verifier is required");
      std::string computed = coach::crypto::base64url_encode(coach::crypto::sha256(verifier));
      if (computed != ac.code_challenge) {
        return oauth2_error(c, 400, "invalid_grant", "code_verifier does not match the code_challenge");
      }
    }
    if (c.st.users.find(ac.user_id) == c.st.users.end()) {
      c.st.auth_codes.erase(it);
      return oauth2_error(c, 400, "invalid_grant", "The authorizing user no longer exists");
    }
    c.st.auth_codes.erase(it);
    c.st.counters.n_oauth2_code_exchanges++;
    return oauth2_tokens_reply(c, ac.user_id, ac.scope);
  }

  const std::string refresh = get("refresh_token");
  if (refresh.empty()) return oauth2_error(c, 400, "invalid_request", "refresh_token is required");
  auto it = c.st.tokens.find(refresh);
  bool ok = it != c.st.tokens.end() && it->second.kind == TokenKind::refresh &&
            it->second.family == TokenFamily::oauth2 && it->second.client_id == client_id &&
            c.now_ms <= it->second.expires_at_ms && c.st.users.count(it->second.user_id) != 0;
  if (!ok) {
    auto retired = c.st.retired_refresh.find(refresh);
    if (retired != c.st.retired_refresh.end() && retired->second.family == TokenFamily::oauth2) {
      c.st.counters.n_oauth2_refresh_reuse_rejections++;
    }
    return oauth2_error(c, 400, "invalid_grant", "Invalid refresh token");
  }
  const TokenRec rec = it->second;
  c.st.tokens.erase(it);
  c.st.retired_refresh[refresh] = RetiredToken{TokenFamily::oauth2, rec.user_id, "rotated"};
  purge_expired_access_tokens(c.st, TokenFamily::oauth2, client_id, c.now_ms);
  c.st.counters.n_oauth2_refresh_ok++;
  c.st.users[rec.user_id].n_refresh_ok++;
  return oauth2_tokens_reply(c, rec.user_id, rec.scope);
}

/* GET /v2/auth/oauth2/clients/{clientId}: OAuth2ClientDto. */
inline Reply handle_oauth2_client(Call& c) {
  const std::string& id = c.params[0];
  if (c.cfg.oauth2_client_id.empty() || id != c.cfg.oauth2_client_id) {
    return error_reply(c, 404, "OAuth client with ID " + id + " not found");
  }
  Json::Value d(Json::objectValue);
  d["client_id"] = id;
  d["redirect_uris"] = Json::Value(Json::arrayValue);
  d["redirect_uris"].append(c.cfg.oauth2_redirect_uri);
  d["name"] = "Emulated OAuth2 client";
  d["logo"] = Json::Value::null;
  d["is_trusted"] = false;
  d["client_type"] = "CONFIDENTIAL";
  return ok_reply(d);
}

}  // namespace calcom_emu
