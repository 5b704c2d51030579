/* clerk_auth.hpp: authenticates a request by its Clerk session token (the
 * Authorization: Bearer header or the __session cookie), verifying it against
 * the instance's JWKS, which is fetched through an injected function and cached. */
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "jwt.hpp"
#include "result.hpp"

namespace coach::clerk {

/* Fetches a URL's body (the JWKS). Must time out on its own; an Error (or an
 * exception) counts as a failed fetch. */
using FetchFn = std::function<Result<std::string>(const std::string& url)>;

struct VerifierConfig {
  std::string jwks_url;                         // e.g. https://<frontend-api>/.well-known/jwks.json
  std::string issuer;                           // exact iss; "" skips the check
  std::vector<std::string> authorized_parties;  // allowed azp origins; empty skips the check
  FetchFn fetch_jwks;
  int64_t cache_ttl_ms = 5 * 60 * 1000;         // keys are refetched after this
  int64_t min_fetch_interval_ms = 5000;         // never fetch more often than this
  int64_t max_stale_ms = 60 * 60 * 1000;        // expired keys still usable this long while fetches fail
  int64_t clock_skew_ms = 5000;
  std::function<int64_t()> now_ms = {};         // unix ms; empty = system clock (tests inject)
};

/* The session token a request carries, or "" if none: the Authorization header
 * wins ("Bearer <t>", or a bare token without a scheme; other schemes such as
 * Basic are ignored), else the __session cookie, else the first
 * __session_<suffix> cookie. */
std::string token_from_request(const std::string& authorization_header,
                               const std::map<std::string, std::string>& cookies);

/* Verifies Clerk session tokens. Thread-safe: one instance may serve every
 * thread of a process. Keys are fetched lazily on first use, refetched when
 * older than cache_ttl_ms, and refetched once when a token names an unknown
 * kid, but never more than once per min_fetch_interval_ms (so a flood of
 * forged kids cannot hammer the JWKS URL). A fetch runs under the lock, so
 * concurrent callers wait for it instead of fetching too. */
class Verifier {
 public:
  explicit Verifier(VerifierConfig cfg);

  /* Finds the token (see token_from_request) and verifies it. Errors:
   * 401 "signed_out" when there is no token; 401 with a jwt:: code
   * ("token-expired", "jwk-kid-mismatch", "session-pending", ...) when it is
   * not valid; 503 "auth_unavailable" when the JWKS cannot be fetched and the
   * cached keys cannot decide. When several session cookies are present (no
   * header), the first that verifies wins, else the first one's error. */
  Result<jwt::SessionClaims> authenticate(const std::string& authorization_header,
                                          const std::map<std::string, std::string>& cookies);

  /* Verifies one token, with the same errors as authenticate. */
  Result<jwt::SessionClaims> verify_token(const std::string& token);

 private:
  /* The keys to verify a token with kid against, fetching if needed.
   * Caller holds mu_. */
  Result<std::vector<jwt::Jwk>> keys_for_locked(const std::string& kid, int64_t now_ms);
  /* One fetch attempt; updates the cache on success. Caller holds mu_. */
  bool fetch_locked(int64_t now_ms);
  bool has_kid_locked(const std::string& kid) const;
  int64_t now_ms() const;

  const VerifierConfig cfg_;
  std::mutex mu_;
  std::vector<jwt::Jwk> keys_;           // last good JWKS
  bool has_keys_ = false;
  int64_t fetched_at_ms_ = 0;            // when keys_ was fetched
  bool has_attempted_ = false;
  int64_t last_attempt_ms_ = 0;          // last fetch attempt, good or bad
  bool last_attempt_failed_ = false;
  std::string last_fetch_error_;         // for the 503 message (no secrets: a URL/status)
};

}  // namespace coach::clerk
