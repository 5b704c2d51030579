/* calcom_auth.hpp: tokens and authentication for the Cal.com emulator.
 *
 * Tokens are JWT-shaped (HS256 under a key made at start-up, payload
 * {clientId, ownerId, iat, expiresAt, type, jti}) but the emulator never
 * trusts the signature: a token is valid only while it is in State::tokens.
 * Expiry rounding (see token_expiry_ms) follows Cal.com for real TTLs and stays
 * exact for the short TTLs tests use. */
#pragma once
#include "calcom_core.hpp"

namespace calcom_emu {

/* When a token minted at `now` with that TTL expires, in epoch ms.
 * Access tokens: Cal.com floors now+60 min to the minute; we floor to the
 * minute when ttl >= 120 s and keep the exact instant below that, so a 5 s
 * TTL means 5 s (not 0). Refresh tokens: Cal.com floors now+1 year to the start
 * of the day (UTC here); we do that when ttl >= 2 days, floor to the minute when
 * ttl >= 120 s, and keep the exact instant below that. */
inline int64_t token_expiry_ms(TokenKind kind, int64_t now, int64_t ttl_s) {
  const int64_t raw = now + ttl_s * 1000;
  const int64_t minute = 60 * 1000, day = 24 * 3600 * 1000LL;
  if (kind == TokenKind::refresh && ttl_s >= 2 * 24 * 3600) return raw - raw % day;
  if (ttl_s >= 120) return raw - raw % minute;
  return raw;
}

/* header.payload.signature over the record's fields plus a random jti, so
 * two tokens minted in the same millisecond still differ. */
inline std::string sign_token(const State& st, const TokenRec& rec) {
  using coach::crypto::base64url_encode;
  Json::Value header(Json::objectValue);
  header["alg"] = "HS256";
  header["typ"] = "JWT";
  Json::Value p(Json::objectValue);
  p["clientId"] = rec.client_id;
  p["ownerId"] = static_cast<Json::Int64>(rec.user_id);
  p["iat"] = static_cast<Json::Int64>(rec.issued_at_ms / 1000);
  p["expiresAt"] = static_cast<Json::Int64>(rec.expires_at_ms);
  p["type"] = rec.kind == TokenKind::access ? "access_token" : "refresh_token";
  if (!rec.scope.empty()) p["scope"] = rec.scope;
  p["jti"] = coach::crypto::random_hex(12);
  std::string signing_input = base64url_encode(json_dump(header)) + "." + base64url_encode(json_dump(p));
  return signing_input + "." + base64url_encode(coach::crypto::hmac_sha256(st.jwt_key, signing_input));
}

struct KeyPair {
  std::string access_token;
  std::string refresh_token;
  int64_t access_expires_at_ms = 0;
  int64_t refresh_expires_at_ms = 0;
};

/* Mints and stores an access + refresh pair. round_expiry: Cal.com's
 * platform rounding (token_expiry_ms); standard OAuth2 tokens use exact TTLs. */
inline KeyPair mint_pair(State& st, TokenFamily family, const std::string& client_id,
                         int64_t user_id, int64_t now, int64_t access_ttl_s,
                         int64_t refresh_ttl_s, const std::string& scope = "",
                         bool round_expiry = true) {
  KeyPair kp;
  TokenRec a;
  a.kind = TokenKind::access;
  a.family = family;
  a.client_id = client_id;
  a.user_id = user_id;
  a.issued_at_ms = now;
  a.expires_at_ms = round_expiry ? token_expiry_ms(TokenKind::access, now, access_ttl_s)
                                 : now + access_ttl_s * 1000;
  a.scope = scope;
  TokenRec r = a;
  r.kind = TokenKind::refresh;
  r.expires_at_ms = round_expiry ? token_expiry_ms(TokenKind::refresh, now, refresh_ttl_s)
                                 : now + refresh_ttl_s * 1000;
  kp.access_token = sign_token(st, a);
  kp.refresh_token = sign_token(st, r);
  kp.access_expires_at_ms = a.expires_at_ms;
  kp.refresh_expires_at_ms = r.expires_at_ms;
  st.tokens[kp.access_token] = a;
  st.tokens[kp.refresh_token] = r;
  return kp;
}

inline KeyPair mint_platform_pair(Call& c, int64_t user_id) {
  return mint_pair(c.st, TokenFamily::platform, c.cfg.client_id, user_id, c.now_ms,
                   c.cfg.access_ttl_s, c.cfg.refresh_ttl_s);
}

/* KeysDto: {accessToken, refreshToken, accessTokenExpiresAt, refreshTokenExpiresAt}. */
inline Json::Value keys_json(const KeyPair& kp) {
  Json::Value d(Json::objectValue);
  d["accessToken"] = kp.access_token;
  d["refreshToken"] = kp.refresh_token;
  d["accessTokenExpiresAt"] = static_cast<Json::Int64>(kp.access_expires_at_ms);
  d["refreshTokenExpiresAt"] = static_cast<Json::Int64>(kp.refresh_expires_at_ms);
  return d;
}

/* Deletes every token of that family for the user (and client, when given);
 * deleted refresh tokens are remembered as retired so reuse is detectable. */
inline int revoke_user_tokens(State& st, TokenFamily family, int64_t user_id,
                              const std::string& reason) {
  int n = 0;
  for (auto it = st.tokens.begin(); it != st.tokens.end();) {
    if (it->second.family == family && it->second.user_id == user_id) {
      if (it->second.kind == TokenKind::refresh) {
        st.retired_refresh[it->first] = RetiredToken{family, user_id, reason};
      }
      it = st.tokens.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

/* Cal.com purges a client's expired access tokens when it rotates a refresh
 * token; afterwards those tokens are unknown (401) instead of expired (498). */
inline void purge_expired_access_tokens(State& st, TokenFamily family, const std::string& client_id,
                                        int64_t now) {
  for (auto it = st.tokens.begin(); it != st.tokens.end();) {
    const TokenRec& t = it->second;
    if (t.kind == TokenKind::access && t.family == family && t.client_id == client_id &&
        now > t.expires_at_ms) {
      it = st.tokens.erase(it);
    } else {
      ++it;
    }
  }
}

/* The client id a request names: from the path when the route has one, else
 * the x-cal-client-id header. */
inline std::string request_client_id(const Call& c, const std::string& path_client_id) {
  return path_client_id.empty() ? c.header("x-cal-client-id") : path_client_id;
}

/* The platform owner: whom OAuth-client credentials authenticate as. */
inline int64_t platform_owner_id(const State& st) {
  for (const auto& [id, u] : st.users) if (u.is_platform_owner) return id;
  return 0;
}

inline constexpr const char* k_no_auth_message =
    "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth "
    "client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers";

/* Checks the OAuth-client credentials in a request, as ApiAuthStrategy does
 * when both an id and a secret are present: unknown id -> 401 "Client with ID
 * .. not found", wrong secret -> 401 "Invalid client secret". Precondition:
 * both are non-empty. */
inline std::optional<Reply> check_client_credentials(const Call& c, const std::string& client_id,
                                                     const std::string& secret) {
  if (client_id != c.cfg.client_id) {
    return error_reply(c, 401, "Client with ID " + client_id + " not found");
  }
  if (!coach::crypto::constant_time_equal(secret, c.cfg.client_secret)) {
    return error_reply(c, 401, "Invalid client secret");
  }
  return std::nullopt;
}

/* Authenticates a Bearer access token (platform or standard OAuth2): unknown
 * -> 401 "Invalid Access Token.", expired -> 498 TokenExpiredException, an
 * Origin header that no redirect URI of the token's client starts with -> 401.
 * On success sets user_id. */
inline std::optional<Reply> authenticate_bearer(Call& c, int64_t& user_id) {
  std::string auth = c.header("Authorization");
  // Cal.com does authorization.replace("Bearer ", ""): anything else is the token itself.
  size_t pos = auth.find("Bearer ");
  std::string token = pos == std::string::npos ? auth : auth.substr(0, pos) + auth.substr(pos + 7);
  if (token.empty()) return error_reply(c, 401, k_no_auth_message);
  if (starts_with(token, "cal_")) {
    c.st.counters.n_invalid_token_rejections++;
    return error_reply(c, 401, "Your api key is not valid");
  }
  auto it = c.st.tokens.find(token);
  if (it == c.st.tokens.end() || it->second.kind != TokenKind::access) {
    c.st.counters.n_invalid_token_rejections++;
    return error_reply(c, 401, "Invalid Access Token.");
  }
  const TokenRec& rec = it->second;
  if (c.now_ms > rec.expires_at_ms) {
    c.st.counters.n_expired_token_rejections++;
    return error_reply_full(c, 498, "TokenExpiredException", "ACCESS_TOKEN_IS_EXPIRED",
                            Json::Value("ACCESS_TOKEN_IS_EXPIRED"));
  }
  std::string origin = c.header("Origin");
  if (!origin.empty()) {
    std::vector<std::string> allowed = rec.family == TokenFamily::platform
                                           ? c.cfg.redirect_uris
                                           : std::vector<std::string>{c.cfg.oauth2_redirect_uri};
    bool ok = false;
    for (const auto& uri : allowed) if (!uri.empty() && starts_with(uri, origin)) ok = true;
    if (!ok) {
      return error_reply(c, 401,
                         "Invalid request origin - please open https://app.cal.com/settings/platform "
                         "and add the origin '" + origin +
                             "' to the 'Redirect uris' of your OAuth client.");
    }
  }
  if (c.st.users.find(rec.user_id) == c.st.users.end()) {
    c.st.counters.n_invalid_token_rejections++;
    return error_reply(c, 401, "Invalid Access Token.");
  }
  user_id = rec.user_id;
  return std::nullopt;
}

/* Authentication for user-scoped endpoints (/v2/me, later schedules, ...):
 * ApiAuthStrategy's order: client id + secret win (-> the platform owner),
 * else a Bearer token, else 401. */
inline std::optional<Reply> authenticate_user(Call& c, int64_t& user_id) {
  std::string client_id = request_client_id(c, "");
  std::string secret = c.header("x-cal-secret-key");
  if (!client_id.empty() && !secret.empty()) {
    if (auto err = check_client_credentials(c, client_id, secret)) return err;
    user_id = platform_owner_id(c.st);
    if (!user_id) return error_reply(c, 401, "No owner ID found for this OAuth client");
    return std::nullopt;
  }
  return authenticate_bearer(c, user_id);
}

/* Authentication for OAuth-client endpoints (managed users, and later the
 * client's webhooks): the x-cal-secret-key for the client named in the path
 * (or x-cal-client-id). A managed user's Bearer token is authenticated and then
 * refused with 403, since only organisation admins/owners pass these guards. */
inline std::optional<Reply> require_client(Call& c, const std::string& path_client_id) {
  std::string client_id = request_client_id(c, path_client_id);
  std::string secret = c.header("x-cal-secret-key");
  if (!client_id.empty() && !secret.empty()) return check_client_credentials(c, client_id, secret);
  if (!c.header("Authorization").empty()) {
    int64_t user_id = 0;
    if (auto err = authenticate_bearer(c, user_id)) return err;
    return error_reply(c, 403,
                       "OrganizationRolesGuard - the authenticated user is not an admin or owner of "
                       "the organization that owns this OAuth client");
  }
  return error_reply(c, 401, k_no_auth_message);
}

}  // namespace calcom_emu
