/* test_log.cpp: secrets never reach the log. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE log
#include <boost/test/unit_test.hpp>

#include "log.hpp"

using namespace coach;

BOOST_AUTO_TEST_CASE(bearer_tokens_and_jwts_are_redacted) {
  std::string s = log::redact("Authorization: Bearer abcdef123456 and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl");
  BOOST_TEST(s.find("abcdef123456") == std::string::npos);
  BOOST_TEST(s.find("eyJzdWIiOiJ1c2VyIn0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(secret_keys_in_json_and_query_strings_are_redacted) {
  std::string s = log::redact(R"({"accessToken":"tok123","refreshToken":"ref456","name":"Maria"})");
  BOOST_TEST(s.find("tok123") == std::string::npos);
  BOOST_TEST(s.find("ref456") == std::string::npos);
  BOOST_TEST(s.find("Maria") != std::string::npos);
  std::string q = log::redact("code=abc123&state=xyz&client_secret=shh&password=pw");
  BOOST_TEST(q.find("abc123") == std::string::npos);
  BOOST_TEST(q.find("shh") == std::string::npos);
  BOOST_TEST(q.find("=pw") == std::string::npos);
  BOOST_TEST(q.find("state=xyz") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(vendor_key_prefixes_are_redacted) {
  std::string s = log::redact("key sk_test_51AbCdEf and whsec_zzzYYY");
  BOOST_TEST(s.find("51AbCdEf") == std::string::npos);
  BOOST_TEST(s.find("zzzYYY") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(mask_shows_only_the_ends) {
  std::string m = log::mask("eyJhbGciOiJIUzI1NiJ9.payload.signature");
  BOOST_TEST(m.find("payload") == std::string::npos);
  BOOST_TEST(m.rfind("eyJh", 0) == 0u);
  BOOST_TEST(log::mask("") == "(none)");
  BOOST_TEST(log::mask("short") == "****");
}
