/* test_config.cpp: the configuration parser names the bad key. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "config.hpp"

using namespace coach;

namespace {
struct Fixture {
  std::string dir;
  Fixture() {
    char tmpl[] = "/tmp/coach-config-XXXXXX";
    dir = mkdtemp(tmpl);
    write("db-password", "pw");
    write("key", std::string(64, 'a'));
    write("csrf", std::string(64, 'b'));
    write("cal-secret", "s3cret");
  }
  ~Fixture() { std::system(("rm -rf " + dir).c_str()); }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name) << content << "\n";
  }
  std::string text() const {
    return "# test config\n"
           "public-base-url=http://127.0.0.1:8080/\n"
           "db-host=127.0.0.1\ndb-port=3307\ndb-name=coach\ndb-user=coach\n"
           "db-password-file=" + dir + "/db-password\n"
           "token-encryption-key-file=" + dir + "/key\n"
           "csrf-secret-file=" + dir + "/csrf\n"
           "cal-api-base-url=http://127.0.0.1:18081\n"
           "cal-oauth-client-id=clabc\n"
           "cal-oauth-client-secret-file=" + dir + "/cal-secret\n"
           "cal-webhook-secret-file=" + dir + "/cal-secret\n"
           "cal-oauth2-authorize-url=http://127.0.0.1:18081/auth/oauth2/authorize\n"
           "cal-oauth2-client-id=o2\n"
           "cal-oauth2-client-secret-file=" + dir + "/cal-secret\n"
           "clerk-jwks-url=http://127.0.0.1:18084/.well-known/jwks.json\n"
           "clerk-issuer=http://127.0.0.1:18084\n"
           "clerk-authorized-parties=http://127.0.0.1:8080, http://localhost:8080\n"
           "clerk-sign-in-url=http://127.0.0.1:18084/sign-in\n"
           "clerk-sign-out-url=http://127.0.0.1:18084/sign-out\n"
           "smtp-url=smtp://127.0.0.1:2525\n"
           "mail-from=Coach <no-reply@coach.test>\n";
  }
  static std::string without(const std::string& t, const std::string& key) {
    std::string out;
    size_t pos = 0;
    while (pos < t.size()) {
      size_t nl = t.find('\n', pos);
      std::string line = t.substr(pos, nl - pos);
      if (line.rfind(key + "=", 0) != 0) out += line + "\n";
      pos = nl + 1;
    }
    return out;
  }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(valid_config_parses_with_secrets_from_files, Fixture) {
  auto c = parse_config(text(), {});
  BOOST_TEST_REQUIRE(c.ok(), (c.ok() ? "" : c.error().message));
  BOOST_TEST(c->db_port == 3307);
  BOOST_TEST(c->db_password == "pw");
  BOOST_TEST(c->token_encryption_key.size() == 32u);
  BOOST_TEST(c->public_base_url == "http://127.0.0.1:8080");  // trailing slash dropped
  BOOST_TEST(c->clerk_authorized_parties.size() == 2u);
  BOOST_TEST(c->cal_oauth_client_secret == "s3cret");
  BOOST_TEST(c->zoom_api_base_url.empty());
}

BOOST_FIXTURE_TEST_CASE(every_required_key_is_named_when_missing, Fixture) {
  for (const std::string key : {"public-base-url", "db-host", "db-password-file", "token-encryption-key-file",
                                "cal-api-base-url", "cal-oauth-client-id", "clerk-jwks-url", "smtp-url"}) {
    auto c = parse_config(without(text(), key), {});
    BOOST_TEST_REQUIRE(!c.ok(), key);
    BOOST_TEST(c.error().message.find(key) != std::string::npos, c.error().message);
  }
}

BOOST_FIXTURE_TEST_CASE(malformed_values_are_named, Fixture) {
  auto bad_port = parse_config(text() + "db-port=99999\n", {});
  BOOST_TEST_REQUIRE(!bad_port.ok());
  BOOST_TEST(bad_port.error().message.find("db-port") != std::string::npos);
  auto bad_url = parse_config(text() + "cal-api-base-url=api.cal.com\n", {});
  BOOST_TEST_REQUIRE(!bad_url.ok());
  BOOST_TEST(bad_url.error().message.find("cal-api-base-url") != std::string::npos);
  auto typo = parse_config(text() + "db-pasword-file=x\n", {});
  BOOST_TEST_REQUIRE(!typo.ok());
  BOOST_TEST(typo.error().message.find("db-pasword-file") != std::string::npos);
  auto no_eq = parse_config(text() + "just words\n", {});
  BOOST_TEST(!no_eq.ok());
}

BOOST_FIXTURE_TEST_CASE(short_encryption_key_is_refused, Fixture) {
  write("key", "abcd");
  auto c = parse_config(text(), {});
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message.find("token-encryption-key-file") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(missing_secret_file_is_named, Fixture) {
  std::remove((dir + "/db-password").c_str());
  auto c = parse_config(text(), {});
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message.find("db-password-file") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(environment_overrides_the_file, Fixture) {
  auto c = parse_config(text(), {{"COACH_DB_PORT", "3399"}, {"COACH_CAL_API_BASE_URL", "https://api.cal.com"}});
  BOOST_TEST_REQUIRE(c.ok());
  BOOST_TEST(c->db_port == 3399);
  BOOST_TEST(c->cal_api_base_url == "https://api.cal.com");
}

BOOST_FIXTURE_TEST_CASE(zoom_needs_complete_credentials_once_configured, Fixture) {
  auto c = parse_config(text() + "zoom-api-base-url=http://127.0.0.1:18082/v2\n", {});
  BOOST_TEST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message.find("zoom-") != std::string::npos);
}
