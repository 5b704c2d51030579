/* test_crypto.cpp: encodings, hashes, HMAC, compare, randomness and AES-256-GCM sealing. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE crypto
#include <boost/test/unit_test.hpp>

#include <cctype>
#include <stdexcept>
#include <string>

#include "crypto.hpp"

using namespace coach;
using namespace coach::crypto;

namespace {

std::string unhex(const std::string& h) {
  auto v = hex_decode(h);
  BOOST_REQUIRE(v.has_value());
  return *v;
}

const std::string k_key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const std::string k_other_key =
    unhex("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

/* Splits "v1.<nonce>.<body>" into its decoded nonce and body. */
void split_sealed(const std::string& sealed, std::string& nonce, std::string& body) {
  BOOST_REQUIRE_EQUAL(sealed.substr(0, 3), "v1.");
  size_t dot = sealed.find('.', 3);
  BOOST_REQUIRE(dot != std::string::npos);
  auto n = base64url_decode(sealed.substr(3, dot - 3));
  auto b = base64url_decode(sealed.substr(dot + 1));
  BOOST_REQUIRE(n && b);
  nonce = *n;
  body = *b;
}

std::string join_sealed(const std::string& nonce, const std::string& body) {
  return "v1." + base64url_encode(nonce) + "." + base64url_encode(body);
}

void check_decrypt_failed(const Result<std::string>& r) {
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.error().code, "decrypt_failed");
}

}  // namespace

BOOST_AUTO_TEST_CASE(hex_round_trips_and_is_lower_case) {
  BOOST_CHECK_EQUAL(hex_encode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  BOOST_CHECK_EQUAL(hex_encode(""), "");
  BOOST_CHECK(hex_decode("0001ABff") == std::string("\x00\x01\xab\xff", 4));
  BOOST_CHECK(hex_decode("") == std::string());
}

BOOST_AUTO_TEST_CASE(hex_decode_rejects_bad_input) {
  BOOST_CHECK(!hex_decode("abc").has_value());
  BOOST_CHECK(!hex_decode("zz").has_value());
  BOOST_CHECK(!hex_decode("0x12").has_value());
  BOOST_CHECK(!hex_decode("12 3").has_value());
}

BOOST_AUTO_TEST_CASE(base64_matches_rfc4648_vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, b64] : vectors) {
    BOOST_CHECK_EQUAL(base64_encode(plain), b64);
    BOOST_CHECK(base64_decode(b64) == plain);
  }
}

BOOST_AUTO_TEST_CASE(base64_decode_accepts_missing_padding) {
  BOOST_CHECK(base64_decode("Zg") == std::string("f"));
  BOOST_CHECK(base64_decode("Zm8") == std::string("fo"));
  BOOST_CHECK(base64_decode("Zm9vYmE") == std::string("fooba"));
}

BOOST_AUTO_TEST_CASE(base64_decode_rejects_bad_input) {
  BOOST_CHECK(!base64_decode("Z").has_value());          // dangling character
  BOOST_CHECK(!base64_decode("Zm9v!").has_value());      // not in the alphabet
  BOOST_CHECK(!base64_decode("Zm 9v").has_value());      // whitespace
  BOOST_CHECK(!base64_decode("Zh==").has_value());       // non-zero leftover bits
  BOOST_CHECK(!base64_decode("Zg=").has_value());        // partial padding
  BOOST_CHECK(!base64_decode("Zg===").has_value());
  BOOST_CHECK(!base64_decode("-_8=").has_value());       // url alphabet
}

BOOST_AUTO_TEST_CASE(base64url_uses_url_alphabet_without_padding) {
  const std::string bytes("\xfb\xff\xbf", 3);
  BOOST_CHECK_EQUAL(base64_encode(bytes), "+/+/");
  BOOST_CHECK_EQUAL(base64url_encode(bytes), "-_-_");
  BOOST_CHECK_EQUAL(base64url_encode("f"), "Zg");
  BOOST_CHECK(base64url_decode("-_-_") == bytes);
  BOOST_CHECK(base64url_decode("Zg") == std::string("f"));
  BOOST_CHECK(base64url_decode("Zg==") == std::string("f"));  // lenient about padding
  BOOST_CHECK(!base64url_decode("+/+/").has_value());
}

BOOST_AUTO_TEST_CASE(base64_round_trips_every_byte_value) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    const std::string s = all.substr(0, n);
    BOOST_CHECK(base64_decode(base64_encode(s)) == s);
    BOOST_CHECK(base64url_decode(base64url_encode(s)) == s);
  }
}

BOOST_AUTO_TEST_CASE(sha_digests_match_known_answers) {
  BOOST_CHECK_EQUAL(hex_encode(sha256("abc")),
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_CHECK_EQUAL(hex_encode(sha256("")),
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_CHECK_EQUAL(hex_encode(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

BOOST_AUTO_TEST_CASE(hmac_sha256_matches_rfc4231_case_2) {
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  BOOST_CHECK_EQUAL(hmac_sha256_hex("Jefe", "what do ya want for nothing?"), expected);
  BOOST_CHECK_EQUAL(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")), expected);
}

BOOST_AUTO_TEST_CASE(hmac_sha256_matches_svix_example) {
  auto key = base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");  // whsec_ prefix removed
  BOOST_REQUIRE(key.has_value());
  const std::string signed_content =
      "msg_2abcXYZ.1700000000.{\"type\":\"user.created\",\"data\":{\"id\":\"user_123\"}}";
  BOOST_CHECK_EQUAL(base64_encode(hmac_sha256(*key, signed_content)),
                    "5NR2SWZgeyXiJhYI5Zzg3qOWNP+Ot8AQ0SaSx4PC8/E=");
}

BOOST_AUTO_TEST_CASE(hmac_sha256_accepts_empty_key_and_data) {
  // RFC 2104 HMAC-SHA256 with an empty key and message (widely published value).
  BOOST_CHECK_EQUAL(hmac_sha256_hex("", ""),
                    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

BOOST_AUTO_TEST_CASE(constant_time_equal_compares_bytes_and_lengths) {
  BOOST_CHECK(constant_time_equal("", ""));
  BOOST_CHECK(constant_time_equal("abc", "abc"));
  BOOST_CHECK(!constant_time_equal("abc", "abd"));
  BOOST_CHECK(!constant_time_equal("abc", "abcd"));
  BOOST_CHECK(!constant_time_equal("", "a"));
  BOOST_CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  BOOST_CHECK(!constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

BOOST_AUTO_TEST_CASE(random_bytes_have_the_requested_length_and_differ) {
  BOOST_CHECK_EQUAL(random_bytes(0).size(), 0u);
  BOOST_CHECK_EQUAL(random_bytes(32).size(), 32u);
  BOOST_CHECK(random_bytes(32) != random_bytes(32));
  const std::string h = random_hex(16);
  BOOST_CHECK_EQUAL(h.size(), 32u);
  BOOST_CHECK(hex_decode(h).has_value());
}

BOOST_AUTO_TEST_CASE(open_accepts_nist_gcm_test_case_16) {
  // AES-256-GCM, 60-byte plaintext with AAD (GCM spec test case 16).
  const std::string key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string iv = unhex("cafebabefacedbaddecaf888");
  const std::string aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string plain = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const std::string cipher_and_tag = unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  auto r = open(key, join_sealed(iv, cipher_and_tag), aad);
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK(*r == plain);
}

BOOST_AUTO_TEST_CASE(seal_then_open_round_trips) {
  for (const std::string& plain : {std::string(), std::string("x"), std::string("ya29.secret-token"),
                                  std::string(1000, '\xee')}) {
    const std::string sealed = seal(k_key, plain, "calendar_integration:42:access");
    auto r = open(k_key, sealed, "calendar_integration:42:access");
    BOOST_REQUIRE(r.ok());
    BOOST_CHECK(*r == plain);
  }
  auto no_aad = open(k_key, seal(k_key, "hello"));
  BOOST_REQUIRE(no_aad.ok());
  BOOST_CHECK_EQUAL(*no_aad, "hello");
}

BOOST_AUTO_TEST_CASE(sealed_text_is_printable_with_the_documented_layout) {
  const std::string sealed = seal(k_key, "hello");
  std::string nonce, body;
  split_sealed(sealed, nonce, body);
  BOOST_CHECK_EQUAL(nonce.size(), 12u);
  BOOST_CHECK_EQUAL(body.size(), 5u + 16u);
  for (char c : sealed) BOOST_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
}

BOOST_AUTO_TEST_CASE(two_seals_of_the_same_text_differ) {
  const std::string a = seal(k_key, "same text", "aad");
  const std::string b = seal(k_key, "same text", "aad");
  BOOST_CHECK_NE(a, b);
  BOOST_CHECK(open(k_key, a, "aad").ok());
  BOOST_CHECK(open(k_key, b, "aad").ok());
}

BOOST_AUTO_TEST_CASE(open_fails_with_wrong_key) {
  check_decrypt_failed(open(k_other_key, seal(k_key, "secret")));
}

BOOST_AUTO_TEST_CASE(open_fails_with_wrong_or_missing_aad) {
  const std::string sealed = seal(k_key, "secret", "calendar_integration:42:access");
  check_decrypt_failed(open(k_key, sealed, "calendar_integration:43:access"));
  check_decrypt_failed(open(k_key, sealed));
  check_decrypt_failed(open(k_key, seal(k_key, "secret"), "unexpected"));
}

BOOST_AUTO_TEST_CASE(open_fails_on_any_tampered_byte) {
  const std::string sealed = seal(k_key, "secret value", "aad");
  std::string nonce, body;
  split_sealed(sealed, nonce, body);
  for (size_t i = 0; i < body.size(); ++i) {
    std::string t = body;
    t[i] = char(t[i] ^ 0x01);
    check_decrypt_failed(open(k_key, join_sealed(nonce, t), "aad"));
  }
  for (size_t i = 0; i < nonce.size(); ++i) {
    std::string t = nonce;
    t[i] = char(t[i] ^ 0x80);
    check_decrypt_failed(open(k_key, join_sealed(t, body), "aad"));
  }
  // Flipping a character of the text itself must fail too (no two encodings).
  for (size_t i = 3; i < sealed.size(); ++i) {
    if (sealed[i] == '.') continue;
    std::string t = sealed;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    check_decrypt_failed(open(k_key, t, "aad"));
  }
}

BOOST_AUTO_TEST_CASE(open_fails_on_truncated_text) {
  const std::string sealed = seal(k_key, "secret value");
  for (size_t n = 0; n < sealed.size(); ++n) check_decrypt_failed(open(k_key, sealed.substr(0, n)));
  std::string nonce, body;
  split_sealed(sealed, nonce, body);
  check_decrypt_failed(open(k_key, join_sealed(nonce, body.substr(0, 15))));  // shorter than a tag
  check_decrypt_failed(open(k_key, join_sealed(nonce.substr(0, 11), body)));
}

BOOST_AUTO_TEST_CASE(open_fails_on_garbage) {
  for (const char* g : {"", "v1", "v1.", "v1..", "v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
                        "v1.!!!!.????", "hello world", "v1.AAAAAAAAAAAAAAAA.AAAA.AAAA",
                        "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"}) {
    check_decrypt_failed(open(k_key, g));
  }
  check_decrypt_failed(open("short key", seal(k_key, "x")));
}

BOOST_AUTO_TEST_CASE(seal_rejects_a_key_that_is_not_32_bytes) {
  BOOST_CHECK_THROW(seal("too short", "x"), std::invalid_argument);
  BOOST_CHECK_THROW(seal(std::string(33, 'k'), "x"), std::invalid_argument);
}
