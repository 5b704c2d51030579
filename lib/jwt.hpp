/* jwt.hpp: RS256 JSON Web Tokens: signing (the Clerk emulator and tests), JWKS
 * parsing and verification of Clerk session tokens as Clerk's verifyToken does. */
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace coach::jwt {

/* An RSA key (public, or private+public). Holds an immutable EVP_PKEY; copies
 * share it (OpenSSL allows concurrent signing/verifying with one key). */
class RsaKey {
 public:
  RsaKey() = default;
  static Result<RsaKey> generate(int bits = 2048);
  static Result<RsaKey> from_private_pem(std::string_view pem);
  static Result<RsaKey> from_public_pem(std::string_view pem);
  /* Public key from a JWK's n and e; the modulus must be 2048..8192 bits. */
  static Result<RsaKey> from_jwk(std::string_view n_b64u, std::string_view e_b64u);
  std::string private_pem() const;        // PKCS#8 PEM, "" for a public key
  std::string public_pem() const;         // SPKI PEM
  std::string jwk_n() const;              // base64url modulus
  std::string jwk_e() const;              // base64url exponent
  bool valid() const { return key_ != nullptr; }
  bool has_private() const { return has_private_; }
  void* evp() const { return key_.get(); }  // EVP_PKEY*
 private:
  /* Takes ownership of an EVP_PKEY*; fails (and frees it) unless it is RSA. */
  static Result<RsaKey> adopt(void* evp_pkey, bool has_private, const char* what);
  std::shared_ptr<void> key_;
  bool has_private_ = false;
};

/* header.payload.signature with header {"alg":"RS256","kid":kid,"typ":"JWT"}.
 * payload_json is used as given (already serialized). Throws std::invalid_argument
 * if private_key holds no private key (a programming error). */
std::string sign_rs256(const RsaKey& private_key, const std::string& kid,
                       const std::string& payload_json);

/* {"keys":[{"use":"sig","kty":"RSA","kid":..,"alg":"RS256","n":..,"e":..}]} */
std::string jwks_json(const std::vector<std::pair<std::string, const RsaKey*>>& kid_keys);

struct Jwk { std::string kid; RsaKey key; };
/* Parses a JWKS document; keys that are not RSA/RS256 signing keys (or lack a
 * kid, or are too small) are skipped. Fails with 502 "jwks-invalid" when the
 * document is not JSON of the form {"keys":[...]}. */
Result<std::vector<Jwk>> parse_jwks(std::string_view jwks_json);

struct VerifyOptions {
  std::string issuer;                          // required exact match when non-empty
  std::vector<std::string> authorized_parties; // azp must be one of these when non-empty
  int64_t clock_skew_ms = 5000;
  int64_t now_ms = 0;                          // 0 = current time
};

struct SessionClaims {
  std::string sub;      // Clerk user id
  std::string sid;      // session id
  std::string azp, iss, sts;
  int64_t exp = 0, iat = 0, nbf = 0;
  std::string payload_json;  // the whole payload, for extra claims (name, email, ...)
};

/* Verifies a Clerk session token, in Clerk's order: shape, typ, alg (RS256 only),
 * kid known, signature, sub, azp, iss, exp, nbf, iat, then sts != "pending".
 * Error codes: token-invalid, token-invalid-algorithm, jwk-kid-mismatch,
 * token-invalid-signature, token-invalid-authorized-parties, token-invalid-issuer,
 * token-expired, token-not-active-yet, token-iat-in-the-future, session-pending.
 * All errors carry http_status 401. */
Result<SessionClaims> verify_session_token(std::string_view token, const std::vector<Jwk>& keys,
                                           const VerifyOptions& opts);

/* The kid in a token's header, or "" if the header cannot be read. */
std::string peek_kid(std::string_view token);

}  // namespace coach::jwt
