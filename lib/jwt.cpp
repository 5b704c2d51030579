/* jwt.cpp: RS256 JSON Web Tokens with OpenSSL 3 (EVP, OSSL_PARAM) and jsoncpp:
 * RSA key handling, signing, JWKS documents and Clerk session-token checks. */
#include "jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <json/json.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "crypto.hpp"

namespace coach::jwt {

namespace {

constexpr size_t k_max_token_len = 16 * 1024;
constexpr int k_min_rsa_bits = 2048;
constexpr int k_max_rsa_bits = 8192;

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

EVP_PKEY* pkey_of(const RsaKey& k) { return static_cast<EVP_PKEY*>(k.evp()); }

/* Also drops whatever OpenSSL left on this thread's error queue, so a failed
 * parse cannot confuse a later, unrelated OpenSSL caller. */
Error key_error(const std::string& message) {
  ERR_clear_error();
  return make_error(500, "key-invalid", message);
}

Error token_error(const char* code, const std::string& message) {
  return make_error(401, code, message);
}

/* Never prompt on the terminal for a PEM pass phrase: encrypted keys just fail. */
int no_passphrase(char*, int, int, void*) { return 0; }

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, size_t(n)) : std::string();
}

/* The key's RSA parameter (n or e) as base64url of its big-endian bytes. */
std::string rsa_param_b64u(const RsaKey& k, const char* name) {
  if (!k.valid()) return "";
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey_of(k), name, &raw) != 1) return "";
  BnPtr bn(raw);
  std::string bytes(size_t(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return crypto::base64url_encode(bytes);
}

/* Strict JSON: no comments, no duplicate keys, nothing after the value. */
bool parse_json_object(std::string_view text, Json::Value& out) {
  Json::CharReaderBuilder builder;
  Json::CharReaderBuilder::strictMode(&builder.settings_);
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string errs;
  const char* begin = text.data();
  if (!reader->parse(begin, begin + text.size(), &out, &errs)) return false;
  return out.isObject();
}

std::string to_compact_json(const Json::Value& v) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, v);
}

/* A NumericDate claim in seconds. Fails on non-numbers and absurd values
 * (which would overflow when scaled to milliseconds). */
bool numeric_date(const Json::Value& v, double& seconds) {
  if (!v.isNumeric() || v.isBool()) return false;
  double d = v.asDouble();
  if (!std::isfinite(d) || std::fabs(d) > 1e13) return false;
  seconds = d;
  return true;
}

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

/* RsaKey ------------------------------------------------------------------ */

Result<RsaKey> RsaKey::adopt(void* evp_pkey, bool has_private, const char* what) {
  std::shared_ptr<void> owned(evp_pkey, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  if (!evp_pkey) return key_error(std::string("cannot read ") + what);
  if (EVP_PKEY_is_a(static_cast<EVP_PKEY*>(evp_pkey), "RSA") != 1) {
    return key_error(std::string(what) + " is not an RSA key");
  }
  RsaKey k;
  k.key_ = std::move(owned);
  k.has_private_ = has_private;
  return k;
}

Result<RsaKey> RsaKey::generate(int bits) {
  if (bits < k_min_rsa_bits || bits > k_max_rsa_bits) return key_error("unsupported RSA key size");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    EVP_PKEY_free(raw);
    return key_error("RSA key generation failed");
  }
  return adopt(raw, true, "generated key");
}

Result<RsaKey> RsaKey::from_private_pem(std::string_view pem) {
  if (pem.empty()) return key_error("empty PEM");
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return key_error("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  return adopt(raw, true, "private key PEM");
}

Result<RsaKey> RsaKey::from_public_pem(std::string_view pem) {
  if (pem.empty()) return key_error("empty PEM");
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return key_error("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
  return adopt(raw, false, "public key PEM");
}

/* Builds the public key from n and e with OSSL_PARAM_BLD and EVP_PKEY_fromdata
 * (the OpenSSL 3 replacement for RSA_set0_key). */
Result<RsaKey> RsaKey::from_jwk(std::string_view n_b64u, std::string_view e_b64u) {
  auto n = crypto::base64url_decode(n_b64u);
  auto e = crypto::base64url_decode(e_b64u);
  if (!n || !e || n->empty() || e->empty() || e->size() > 8) {
    return key_error("JWK n/e are not valid base64url");
  }
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr));
  if (!bn_n || !bn_e) return key_error("out of memory");
  const int n_bits = BN_num_bits(bn_n.get());
  if (n_bits < k_min_rsa_bits || n_bits > k_max_rsa_bits) return key_error("JWK modulus size not allowed");
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return key_error("JWK exponent not allowed");

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return key_error("out of memory");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    EVP_PKEY_free(raw);
    return key_error("cannot build RSA key from JWK");
  }
  return adopt(raw, false, "JWK");
}

std::string RsaKey::private_pem() const {
  if (!valid() || !has_private_) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_of(*this), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return "";
  }
  return bio_to_string(bio.get());
}

std::string RsaKey::public_pem() const {
  if (!valid()) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_of(*this)) != 1) return "";
  return bio_to_string(bio.get());
}

std::string RsaKey::jwk_n() const { return rsa_param_b64u(*this, OSSL_PKEY_PARAM_RSA_N); }

std::string RsaKey::jwk_e() const { return rsa_param_b64u(*this, OSSL_PKEY_PARAM_RSA_E); }

/* Signing and JWKS -------------------------------------------------------- */

std::string sign_rs256(const RsaKey& private_key, const std::string& kid,
                       const std::string& payload_json) {
  if (!private_key.valid() || !private_key.has_private()) {
    throw std::invalid_argument("jwt::sign_rs256: not a private key");
  }
  Json::Value header(Json::objectValue);
  header["alg"] = "RS256";
  header["kid"] = kid;
  header["typ"] = "JWT";
  const std::string signing_input = crypto::base64url_encode(to_compact_json(header)) + "." +
                                    crypto::base64url_encode(payload_json);

  MdCtxPtr md(EVP_MD_CTX_new());
  size_t n_sig = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey_of(private_key)) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &n_sig, in, signing_input.size()) != 1) {
    throw std::runtime_error("jwt::sign_rs256: signing failed");
  }
  std::string sig(n_sig, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &n_sig, in,
                     signing_input.size()) != 1) {
    throw std::runtime_error("jwt::sign_rs256: signing failed");
  }
  sig.resize(n_sig);
  return signing_input + "." + crypto::base64url_encode(sig);
}

std::string jwks_json(const std::vector<std::pair<std::string, const RsaKey*>>& kid_keys) {
  Json::Value root(Json::objectValue);
  Json::Value& keys = root["keys"] = Json::Value(Json::arrayValue);
  for (const auto& [kid, key] : kid_keys) {
    if (!key || !key->valid()) continue;
    Json::Value k(Json::objectValue);
    k["use"] = "sig";
    k["kty"] = "RSA";
    k["kid"] = kid;
    k["alg"] = "RS256";
    k["n"] = key->jwk_n();
    k["e"] = key->jwk_e();
    keys.append(k);
  }
  return to_compact_json(root);
}

Result<std::vector<Jwk>> parse_jwks(std::string_view text) {
  Json::Value root;
  if (!parse_json_object(text, root) || !root["keys"].isArray()) {
    return make_error(502, "jwks-invalid", "JWKS is not a JSON object with a keys array");
  }
  std::vector<Jwk> out;
  for (const Json::Value& k : root["keys"]) {
    if (!k.isObject()) continue;
    auto str = [&](const char* name) {
      const Json::Value& v = k[name];
      return v.isString() ? v.asString() : std::string();
    };
    if (str("kty") != "RSA") continue;
    if (k.isMember("use") && str("use") != "sig") continue;
    if (k.isMember("alg") && str("alg") != "RS256") continue;
    const std::string kid = str("kid");
    if (kid.empty()) continue;
    auto key = RsaKey::from_jwk(str("n"), str("e"));
    if (!key) continue;
    out.push_back(Jwk{kid, std::move(*key)});
  }
  return out;
}

/* Verification ------------------------------------------------------------ */

std::string peek_kid(std::string_view token) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > k_max_token_len) return "";
  auto header = crypto::base64url_decode(token.substr(0, dot));
  Json::Value h;
  if (!header || !parse_json_object(*header, h) || !h["kid"].isString()) return "";
  return h["kid"].asString();
}

Result<SessionClaims> verify_session_token(std::string_view token, const std::vector<Jwk>& keys,
                                           const VerifyOptions& opts) {
  // 1. Shape: three base64url parts, header and payload JSON objects.
  if (token.empty() || token.size() > k_max_token_len) {
    return token_error("token-invalid", "token is empty or too long");
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return token_error("token-invalid", "token does not have three parts");
  }
  const std::string_view signing_input = token.substr(0, dot2);
  auto header_raw = crypto::base64url_decode(token.substr(0, dot1));
  auto payload_raw = crypto::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = crypto::base64url_decode(token.substr(dot2 + 1));
  Json::Value header, payload;
  if (!header_raw || !payload_raw || !sig || !parse_json_object(*header_raw, header) ||
      !parse_json_object(*payload_raw, payload)) {
    return token_error("token-invalid", "token parts are not base64url JSON");
  }

  // 2. typ (optional) and alg. Only RS256: the algorithm never comes from the token.
  if (header.isMember("typ") && !(header["typ"].isString() && header["typ"].asString() == "JWT")) {
    return token_error("token-invalid", "token typ is not JWT");
  }
  if (!header["alg"].isString() || header["alg"].asString() != "RS256") {
    return token_error("token-invalid-algorithm", "token alg is not RS256");
  }

  // 3. kid must name a configured key.
  const Jwk* jwk = nullptr;
  if (header["kid"].isString()) {
    const std::string kid = header["kid"].asString();
    for (const Jwk& k : keys) {
      if (k.kid == kid && k.key.valid()) {
        jwk = &k;
        break;
      }
    }
  }
  if (!jwk) return token_error("jwk-kid-mismatch", "token kid matches no known key");

  // 4. Signature over the header and payload exactly as received.
  MdCtxPtr md(EVP_MD_CTX_new());
  const bool sig_ok =
      md && !sig->empty() &&
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey_of(jwk->key)) == 1 &&
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) == 1;
  if (!sig_ok) ERR_clear_error();
  if (!sig_ok) return token_error("token-invalid-signature", "token signature is invalid");

  // 5. Claims, in Clerk's order. From here on the payload is trusted to be Clerk's.
  auto claim_str = [&](const char* name) {
    const Json::Value& v = payload[name];
    return v.isString() ? v.asString() : std::string();
  };
  if (!payload["sub"].isString() || payload["sub"].asString().empty()) {
    return token_error("token-invalid", "token sub is missing");
  }
  if (!opts.authorized_parties.empty()) {
    bool azp_ok = false;
    if (payload["azp"].isString()) {
      for (const auto& party : opts.authorized_parties) azp_ok = azp_ok || party == claim_str("azp");
    }
    if (!azp_ok) {
      return token_error("token-invalid-authorized-parties", "token azp is not an authorized party");
    }
  }
  if (!opts.issuer.empty() && !(payload["iss"].isString() && claim_str("iss") == opts.issuer)) {
    return token_error("token-invalid-issuer", "token iss is not the configured issuer");
  }

  const int64_t now_ms = opts.now_ms != 0 ? opts.now_ms : now_unix_ms();
  const double skew_ms = double(opts.clock_skew_ms);
  double exp_s = 0, nbf_s = 0, iat_s = 0;
  if (!numeric_date(payload["exp"], exp_s)) return token_error("token-invalid", "token exp is missing");
  if (exp_s * 1000 <= double(now_ms) - skew_ms) return token_error("token-expired", "token has expired");
  const bool has_nbf = payload.isMember("nbf");
  if (has_nbf && !numeric_date(payload["nbf"], nbf_s)) return token_error("token-invalid", "token nbf is not a number");
  if (has_nbf && nbf_s * 1000 > double(now_ms) + skew_ms) {
    return token_error("token-not-active-yet", "token is not valid yet");
  }
  const bool has_iat = payload.isMember("iat");
  if (has_iat && !numeric_date(payload["iat"], iat_s)) return token_error("token-invalid", "token iat is not a number");
  if (has_iat && iat_s * 1000 > double(now_ms) + skew_ms) {
    return token_error("token-iat-in-the-future", "token was issued in the future");
  }

  // 6. Clerk treats pending sessions (tasks not finished) as signed out.
  if (claim_str("sts") == "pending") return token_error("session-pending", "session is pending");

  SessionClaims claims;
  claims.sub = claim_str("sub");
  claims.sid = claim_str("sid");
  claims.azp = claim_str("azp");
  claims.iss = claim_str("iss");
  claims.sts = claim_str("sts");
  claims.exp = int64_t(std::floor(exp_s));
  claims.nbf = int64_t(std::floor(nbf_s));
  claims.iat = int64_t(std::floor(iat_s));
  claims.payload_json = std::move(*payload_raw);
  return claims;
}

}  // namespace coach::jwt
