/* test_jwt.cpp: RSA keys, RS256 signing, JWKS, and Clerk session-token checks
 * (every case of reference section 5.3, plus shape and order). */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE jwt
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>

#include <json/json.h>

#include <stdexcept>
#include <string>

#include "crypto.hpp"
#include "jwt.hpp"

using namespace coach;
using namespace coach::jwt;

namespace {

const int64_t k_now_s = 1700000000;
const std::string k_issuer = "https://happy-coach-12.clerk.accounts.dev";
const std::string k_origin = "https://app.coach.test";
const std::string k_kid = "ins_test_1";

/* Keys are slow to make: one pair for the whole module. */
const RsaKey& test_key() {
  static const RsaKey key = [] {
    auto k = RsaKey::generate(2048);
    if (!k) throw std::runtime_error("keygen failed");
    return *k;
  }();
  return key;
}

const RsaKey& other_key() {
  static const RsaKey key = [] {
    auto k = RsaKey::generate(2048);
    if (!k) throw std::runtime_error("keygen failed");
    return *k;
  }();
  return key;
}

std::vector<Jwk> test_keys() {
  auto pub = RsaKey::from_jwk(test_key().jwk_n(), test_key().jwk_e());
  BOOST_REQUIRE(pub.ok());
  return {Jwk{k_kid, *pub}};
}

VerifyOptions test_opts() {
  VerifyOptions o;
  o.issuer = k_issuer;
  o.authorized_parties = {k_origin};
  o.now_ms = k_now_s * 1000;
  return o;
}

/* A valid Clerk v2 session payload; tests change fields before signing. */
Json::Value base_claims() {
  Json::Value c(Json::objectValue);
  c["sub"] = "user_demo_coach_maria";
  c["sid"] = "sess_abc";
  c["sts"] = "active";
  c["iss"] = k_issuer;
  c["azp"] = k_origin;
  c["iat"] = Json::Int64(k_now_s - 10);
  c["nbf"] = Json::Int64(k_now_s - 10);
  c["exp"] = Json::Int64(k_now_s + 50);
  c["v"] = 2;
  c["email"] = "maria@example.com";
  return c;
}

std::string compact(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  return Json::writeString(b, v);
}

std::string sign(const Json::Value& claims, const std::string& kid = k_kid,
                 const RsaKey& key = test_key()) {
  return sign_rs256(key, kid, compact(claims));
}

/* RS256 over an arbitrary header, for headers sign_rs256 will not make. */
std::string sign_with_header(const std::string& header_json, const Json::Value& claims,
                             const RsaKey& key = test_key()) {
  const std::string input =
      crypto::base64url_encode(header_json) + "." + crypto::base64url_encode(compact(claims));
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t n = 0;
  std::string sig;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, static_cast<EVP_PKEY*>(key.evp())) == 1 &&
      EVP_DigestSign(md, nullptr, &n, in, input.size()) == 1) {
    sig.resize(n);
    if (EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &n, in, input.size()) != 1) {
      sig.clear();
    }
    sig.resize(n);
  }
  EVP_MD_CTX_free(md);
  BOOST_REQUIRE(!sig.empty());
  return input + "." + crypto::base64url_encode(sig);
}

void check_fails(const std::string& token, const std::string& code,
                 const VerifyOptions& opts = test_opts()) {
  auto r = verify_session_token(token, test_keys(), opts);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected " << code);
  BOOST_CHECK_EQUAL(r.error().code, code);
  BOOST_CHECK_EQUAL(r.error().http_status, 401);
}

void check_passes(const std::string& token, const VerifyOptions& opts = test_opts()) {
  auto r = verify_session_token(token, test_keys(), opts);
  BOOST_CHECK_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().code));
}

}  // namespace

/* Keys and JWKS ------------------------------------------------------------ */

BOOST_AUTO_TEST_CASE(private_pem_round_trips) {
  const std::string pem = test_key().private_pem();
  BOOST_CHECK(pem.find("-----BEGIN PRIVATE KEY-----") == 0);
  auto k = RsaKey::from_private_pem(pem);
  BOOST_REQUIRE(k.ok());
  BOOST_CHECK(k->has_private());
  BOOST_CHECK_EQUAL(k->jwk_n(), test_key().jwk_n());
  BOOST_CHECK_EQUAL(k->jwk_e(), "AQAB");
}

BOOST_AUTO_TEST_CASE(public_pem_gives_a_public_only_key) {
  const std::string pem = test_key().public_pem();
  BOOST_CHECK(pem.find("-----BEGIN PUBLIC KEY-----") == 0);
  auto k = RsaKey::from_public_pem(pem);
  BOOST_REQUIRE(k.ok());
  BOOST_CHECK(!k->has_private());
  BOOST_CHECK_EQUAL(k->private_pem(), "");
  BOOST_CHECK_EQUAL(k->jwk_n(), test_key().jwk_n());
  BOOST_CHECK_THROW(sign_rs256(*k, k_kid, "{}"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bad_pem_is_rejected) {
  BOOST_CHECK(!RsaKey::from_private_pem("").ok());
  BOOST_CHECK(!RsaKey::from_private_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
  BOOST_CHECK(!RsaKey::from_public_pem(test_key().private_pem()).ok());
  BOOST_CHECK(!RsaKey::from_public_pem("not a pem").ok());
}

BOOST_AUTO_TEST_CASE(jwk_modulus_is_2048_bits_big_endian) {
  auto n = crypto::base64url_decode(test_key().jwk_n());
  BOOST_REQUIRE(n.has_value());
  BOOST_CHECK_EQUAL(n->size(), 256u);
  BOOST_CHECK(static_cast<unsigned char>((*n)[0]) & 0x80);
}

BOOST_AUTO_TEST_CASE(from_jwk_rejects_small_or_bad_keys) {
  std::string small(128, '\xff');  // a 1024-bit modulus
  BOOST_CHECK(!RsaKey::from_jwk(crypto::base64url_encode(small), "AQAB").ok());
  BOOST_CHECK(!RsaKey::from_jwk("!!!", "AQAB").ok());
  BOOST_CHECK(!RsaKey::from_jwk(test_key().jwk_n(), "").ok());
  BOOST_CHECK(!RsaKey::from_jwk(test_key().jwk_n(), "AQ").ok());  // e = 1
  BOOST_CHECK(RsaKey::from_jwk(test_key().jwk_n(), "AQAB").ok());
}

BOOST_AUTO_TEST_CASE(jwks_round_trips_through_parse) {
  const std::string doc = jwks_json({{"ins_a", &test_key()}, {"ins_b", &other_key()}});
  auto keys = parse_jwks(doc);
  BOOST_REQUIRE(keys.ok());
  BOOST_REQUIRE_EQUAL(keys->size(), 2u);
  BOOST_CHECK_EQUAL((*keys)[0].kid, "ins_a");
  BOOST_CHECK_EQUAL((*keys)[1].kid, "ins_b");
  BOOST_CHECK_EQUAL((*keys)[1].key.jwk_n(), other_key().jwk_n());
  BOOST_CHECK(doc.find("\"use\":\"sig\"") != std::string::npos);
  BOOST_CHECK(doc.find("\"d\"") == std::string::npos);  // never the private exponent
}

BOOST_AUTO_TEST_CASE(parse_jwks_skips_keys_that_are_not_rs256_signing_keys) {
  const std::string n = test_key().jwk_n();
  const std::string doc = R"({"keys":[
    {"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"},
    {"kty":"RSA","kid":"enc","use":"enc","n":")" + n + R"(","e":"AQAB"},
    {"kty":"RSA","kid":"hs","alg":"RS512","n":")" + n + R"(","e":"AQAB"},
    {"kty":"RSA","n":")" + n + R"(","e":"AQAB"},
    {"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"},
    "junk",
    {"kty":"RSA","kid":"good","n":")" + n + R"(","e":"AQAB"}]})";
  auto keys = parse_jwks(doc);
  BOOST_REQUIRE(keys.ok());
  BOOST_REQUIRE_EQUAL(keys->size(), 1u);
  BOOST_CHECK_EQUAL((*keys)[0].kid, "good");
}

BOOST_AUTO_TEST_CASE(parse_jwks_rejects_documents_without_keys) {
  for (const char* doc : {"", "[]", "{}", "{\"keys\":{}}", "not json", "{\"keys\":[]} extra"}) {
    auto r = parse_jwks(doc);
    BOOST_REQUIRE(!r.ok());
    BOOST_CHECK_EQUAL(r.error().code, "jwks-invalid");
  }
  auto empty = parse_jwks("{\"keys\":[]}");
  BOOST_REQUIRE(empty.ok());
  BOOST_CHECK(empty->empty());
}

/* Signing --------------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(sign_rs256_writes_the_clerk_header) {
  const std::string token = sign(base_claims());
  const std::string header = *crypto::base64url_decode(token.substr(0, token.find('.')));
  BOOST_CHECK_EQUAL(header, R"({"alg":"RS256","kid":"ins_test_1","typ":"JWT"})");
  BOOST_CHECK_EQUAL(peek_kid(token), k_kid);
  BOOST_CHECK_EQUAL(peek_kid("garbage"), "");
  BOOST_CHECK_EQUAL(peek_kid(""), "");
}

BOOST_AUTO_TEST_CASE(rs256_signatures_are_deterministic) {
  // PKCS#1 v1.5 has no randomness: the same input gives the same token.
  BOOST_CHECK_EQUAL(sign(base_claims()), sign(base_claims()));
}

/* Verification ---------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(valid_token_verifies_and_returns_claims) {
  auto r = verify_session_token(sign(base_claims()), test_keys(), test_opts());
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK_EQUAL(r->sub, "user_demo_coach_maria");
  BOOST_CHECK_EQUAL(r->sid, "sess_abc");
  BOOST_CHECK_EQUAL(r->sts, "active");
  BOOST_CHECK_EQUAL(r->iss, k_issuer);
  BOOST_CHECK_EQUAL(r->azp, k_origin);
  BOOST_CHECK_EQUAL(r->exp, k_now_s + 50);
  BOOST_CHECK_EQUAL(r->iat, k_now_s - 10);
  BOOST_CHECK_EQUAL(r->nbf, k_now_s - 10);
  BOOST_CHECK(r->payload_json.find("maria@example.com") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(expired_by_4s_passes_within_skew) {
  auto c = base_claims();
  c["exp"] = Json::Int64(k_now_s - 4);
  check_passes(sign(c));
}

BOOST_AUTO_TEST_CASE(expired_by_more_than_5s_fails) {
  auto c = base_claims();
  c["exp"] = Json::Int64(k_now_s - 6);
  check_fails(sign(c), "token-expired");
  c["exp"] = Json::Int64(k_now_s - 5);  // exp*1000 <= now - skew: exactly 5 s is expired
  check_fails(sign(c), "token-expired");
}

BOOST_AUTO_TEST_CASE(missing_or_non_numeric_exp_is_invalid) {
  auto c = base_claims();
  c.removeMember("exp");
  check_fails(sign(c), "token-invalid");
  c["exp"] = "1700000100";
  check_fails(sign(c), "token-invalid");
  c["exp"] = true;
  check_fails(sign(c), "token-invalid");
}

BOOST_AUTO_TEST_CASE(nbf_in_the_future_fails) {
  auto c = base_claims();
  c["nbf"] = Json::Int64(k_now_s + 30);
  check_fails(sign(c), "token-not-active-yet");
  c["nbf"] = Json::Int64(k_now_s + 4);  // within skew
  check_passes(sign(c));
  c.removeMember("nbf");  // optional
  check_passes(sign(c));
}

BOOST_AUTO_TEST_CASE(iat_in_the_future_fails) {
  auto c = base_claims();
  c["nbf"] = Json::Int64(k_now_s);
  c["iat"] = Json::Int64(k_now_s + 30);
  check_fails(sign(c), "token-iat-in-the-future");
  c.removeMember("iat");
  check_passes(sign(c));
}

BOOST_AUTO_TEST_CASE(wrong_or_missing_azp_fails) {
  auto c = base_claims();
  c["azp"] = "https://evil.example";
  check_fails(sign(c), "token-invalid-authorized-parties");
  c.removeMember("azp");
  check_fails(sign(c), "token-invalid-authorized-parties");
  auto opts = test_opts();
  opts.authorized_parties.clear();  // not configured: not checked
  check_passes(sign(c), opts);
  opts.authorized_parties = {"http://localhost:8080", k_origin};
  check_passes(sign(base_claims()), opts);
}

BOOST_AUTO_TEST_CASE(wrong_or_missing_iss_fails) {
  auto c = base_claims();
  c["iss"] = "https://other.clerk.accounts.dev";
  check_fails(sign(c), "token-invalid-issuer");
  c["iss"] = k_issuer + "/";
  check_fails(sign(c), "token-invalid-issuer");
  c.removeMember("iss");
  check_fails(sign(c), "token-invalid-issuer");
}

BOOST_AUTO_TEST_CASE(unknown_or_missing_kid_fails) {
  check_fails(sign(base_claims(), "ins_unknown"), "jwk-kid-mismatch");
  check_fails(sign_with_header(R"({"alg":"RS256","typ":"JWT"})", base_claims()), "jwk-kid-mismatch");
  auto r = verify_session_token(sign(base_claims()), {}, test_opts());
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.error().code, "jwk-kid-mismatch");
}

BOOST_AUTO_TEST_CASE(signature_by_another_key_fails) {
  check_fails(sign(base_claims(), k_kid, other_key()), "token-invalid-signature");
}

BOOST_AUTO_TEST_CASE(alg_none_fails) {
  const std::string header = R"({"alg":"none","kid":"ins_test_1","typ":"JWT"})";
  const std::string unsigned_token = crypto::base64url_encode(header) + "." +
                                     crypto::base64url_encode(compact(base_claims())) + ".";
  check_fails(unsigned_token, "token-invalid-algorithm");
  const std::string header2 = R"({"alg":"None","kid":"ins_test_1"})";
  check_fails(crypto::base64url_encode(header2) + "." +
                  crypto::base64url_encode(compact(base_claims())) + ".",
              "token-invalid-algorithm");
}

BOOST_AUTO_TEST_CASE(alg_hs256_with_the_public_key_as_secret_fails) {
  // The classic confusion attack: HMAC keyed with the published public key.
  const std::string input =
      crypto::base64url_encode(R"({"alg":"HS256","kid":"ins_test_1","typ":"JWT"})") + "." +
      crypto::base64url_encode(compact(base_claims()));
  const std::string mac = crypto::hmac_sha256(test_key().public_pem(), input);
  check_fails(input + "." + crypto::base64url_encode(mac), "token-invalid-algorithm");
}

BOOST_AUTO_TEST_CASE(other_rsa_algorithms_and_missing_alg_fail) {
  check_fails(sign_with_header(R"({"alg":"RS512","kid":"ins_test_1","typ":"JWT"})", base_claims()),
              "token-invalid-algorithm");
  check_fails(sign_with_header(R"({"alg":"PS256","kid":"ins_test_1"})", base_claims()),
              "token-invalid-algorithm");
  check_fails(sign_with_header(R"({"kid":"ins_test_1","typ":"JWT"})", base_claims()),
              "token-invalid-algorithm");
}

BOOST_AUTO_TEST_CASE(typ_must_be_jwt_when_present) {
  check_passes(sign_with_header(R"({"alg":"RS256","kid":"ins_test_1"})", base_claims()));
  check_fails(sign_with_header(R"({"alg":"RS256","kid":"ins_test_1","typ":"at+jwt"})", base_claims()),
              "token-invalid");
  check_fails(sign_with_header(R"({"alg":"RS256","kid":"ins_test_1","typ":1})", base_claims()),
              "token-invalid");
}

BOOST_AUTO_TEST_CASE(tampered_payload_fails) {
  const std::string token = sign(base_claims());
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  auto c = base_claims();
  c["sub"] = "user_admin";
  const std::string forged = token.substr(0, dot1 + 1) + crypto::base64url_encode(compact(c)) +
                             token.substr(dot2);
  check_fails(forged, "token-invalid-signature");
}

BOOST_AUTO_TEST_CASE(tampered_signature_fails) {
  const std::string token = sign(base_claims());
  const size_t dot2 = token.rfind('.');
  auto sig = *crypto::base64url_decode(token.substr(dot2 + 1));
  sig[10] = char(sig[10] ^ 1);
  check_fails(token.substr(0, dot2 + 1) + crypto::base64url_encode(sig), "token-invalid-signature");
  check_fails(token.substr(0, dot2 + 1), "token-invalid-signature");  // empty signature
  check_fails(token.substr(0, dot2 + 1) + crypto::base64url_encode(sig.substr(0, 128)),
              "token-invalid-signature");
}

BOOST_AUTO_TEST_CASE(pending_session_fails) {
  auto c = base_claims();
  c["sts"] = "pending";
  check_fails(sign(c), "session-pending");
  c.removeMember("sts");  // v1 tokens have no sts
  check_passes(sign(c));
}

BOOST_AUTO_TEST_CASE(missing_sub_fails) {
  auto c = base_claims();
  c.removeMember("sub");
  check_fails(sign(c), "token-invalid");
  c["sub"] = 42;
  check_fails(sign(c), "token-invalid");
}

BOOST_AUTO_TEST_CASE(bad_shape_fails_as_token_invalid) {
  const std::string good = sign(base_claims());
  const std::string e30 = crypto::base64url_encode("{}");
  const std::string arr = crypto::base64url_encode("[]");
  for (const std::string& t :
       {std::string(), std::string("abc"), std::string("a.b"), good + ".x", std::string(".."),
        std::string("!!!.") + e30 + ".AAAA", e30 + "." + e30 + ".!!!", arr + "." + e30 + ".AAAA",
        crypto::base64url_encode("not json") + "." + e30 + ".AAAA",
        crypto::base64url_encode(R"({"alg":"RS256","alg":"none"})") + "." + e30 + ".AAAA",
        std::string(20000, 'a') + "." + e30 + ".AAAA"}) {
    check_fails(t, "token-invalid");
  }
}

BOOST_AUTO_TEST_CASE(checks_run_in_clerks_order) {
  // Wrong azp and expired: azp is checked first.
  auto c = base_claims();
  c["azp"] = "https://evil.example";
  c["exp"] = Json::Int64(k_now_s - 60);
  check_fails(sign(c), "token-invalid-authorized-parties");
  // Wrong iss and pending: iss first.
  c = base_claims();
  c["iss"] = "https://x";
  c["sts"] = "pending";
  check_fails(sign(c), "token-invalid-issuer");
  // Expired and pending: expiry first.
  c = base_claims();
  c["exp"] = Json::Int64(k_now_s - 60);
  c["sts"] = "pending";
  check_fails(sign(c), "token-expired");
  // Unknown kid and bad signature: kid first.
  check_fails(sign(base_claims(), "ins_unknown", other_key()), "jwk-kid-mismatch");
}

BOOST_AUTO_TEST_CASE(now_zero_means_the_real_clock) {
  auto c = base_claims();  // issued in 2023, long expired
  auto opts = test_opts();
  opts.now_ms = 0;
  check_fails(sign(c), "token-expired", opts);
}
