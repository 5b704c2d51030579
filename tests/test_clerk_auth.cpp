/* test_clerk_auth.cpp: token lookup (header, cookies) and the Verifier's JWKS
 * cache, with an injected fetch function that counts calls and a fake clock. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE clerk_auth
#include <boost/test/unit_test.hpp>

#include <json/json.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "clerk_auth.hpp"
#include "jwt.hpp"

using namespace coach;
using coach::clerk::Verifier;
using coach::clerk::VerifierConfig;

namespace {

const int64_t k_start_ms = 1700000000000;
const std::string k_jwks_url = "https://clerk.coach.test/.well-known/jwks.json";
const std::string k_issuer = "https://clerk.coach.test";
const std::string k_origin = "https://app.coach.test";

const jwt::RsaKey& key_a() {
  static const jwt::RsaKey k = [] {
    auto r = jwt::RsaKey::generate(2048);
    if (!r) throw std::runtime_error("keygen failed");
    return *r;
  }();
  return k;
}

const jwt::RsaKey& key_b() {
  static const jwt::RsaKey k = [] {
    auto r = jwt::RsaKey::generate(2048);
    if (!r) throw std::runtime_error("keygen failed");
    return *r;
  }();
  return k;
}

/* A fake Clerk instance: the JWKS it serves, a clock, and a fetch counter. */
struct Fixture {
  std::string jwks = jwt::jwks_json({{"ins_a", &key_a()}});
  bool is_down = false;
  bool should_throw = false;
  std::atomic<int> n_fetches{0};
  std::atomic<int64_t> now_ms{k_start_ms};
  Verifier verifier{VerifierConfig{
      k_jwks_url, k_issuer, {k_origin},
      [this](const std::string& url) -> Result<std::string> {
        ++n_fetches;
        BOOST_CHECK_EQUAL(url, k_jwks_url);
        if (should_throw) throw std::runtime_error("boom");
        if (is_down) return make_error(502, "upstream_down", "connection refused");
        return jwks;
      },
      5 * 60 * 1000, 5000, 60 * 60 * 1000, 5000, [this] { return now_ms.load(); }}};

  std::string token(const std::string& sub, const std::string& kid = "ins_a",
                    const jwt::RsaKey& key = key_a()) const {
    const int64_t now_s = now_ms / 1000;
    Json::Value c(Json::objectValue);
    c["sub"] = sub;
    c["sid"] = "sess_1";
    c["sts"] = "active";
    c["iss"] = k_issuer;
    c["azp"] = k_origin;
    c["iat"] = Json::Int64(now_s);
    c["nbf"] = Json::Int64(now_s);
    c["exp"] = Json::Int64(now_s + 60);
    c["v"] = 2;
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return jwt::sign_rs256(key, kid, Json::writeString(b, c));
  }

  Result<jwt::SessionClaims> auth(const std::string& header,
                                  const std::map<std::string, std::string>& cookies = {}) {
    return verifier.authenticate(header, cookies);
  }

  void advance_s(int64_t s) { now_ms += s * 1000; }
};

void check_error(const Result<jwt::SessionClaims>& r, const std::string& code, int status) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected " << code);
  BOOST_CHECK_EQUAL(r.error().code, code);
  BOOST_CHECK_EQUAL(r.error().http_status, status);
}

void check_sub(const Result<jwt::SessionClaims>& r, const std::string& sub) {
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().code));
  BOOST_CHECK_EQUAL(r->sub, sub);
}

}  // namespace

/* Finding the token -------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(token_from_request_prefers_the_header) {
  using clerk::token_from_request;
  BOOST_CHECK_EQUAL(token_from_request("Bearer h.h.h", {{"__session", "c.c.c"}}), "h.h.h");
  BOOST_CHECK_EQUAL(token_from_request("bearer  h.h.h ", {}), "h.h.h");
  BOOST_CHECK_EQUAL(token_from_request("h.h.h", {}), "h.h.h");  // no scheme: raw token
  BOOST_CHECK_EQUAL(token_from_request("Basic dXNlcjpwdw==", {{"__session", "c.c.c"}}), "c.c.c");
  BOOST_CHECK_EQUAL(token_from_request("Bearer ", {{"__session", "c.c.c"}}), "c.c.c");
  BOOST_CHECK_EQUAL(token_from_request("", {{"__session_Ab3dE6gH", "s.s.s"}}), "s.s.s");
  BOOST_CHECK_EQUAL(token_from_request("", {{"__session_x", "s.s.s"}, {"__session", "c.c.c"}}), "c.c.c");
  BOOST_CHECK_EQUAL(token_from_request("", {{"__session_", "s.s.s"}, {"__sessionX", "x"}}), "");
  BOOST_CHECK_EQUAL(token_from_request("", {{"__client_uat", "1"}}), "");
}

BOOST_AUTO_TEST_CASE(no_token_is_signed_out) {
  Fixture f;
  check_error(f.auth(""), "signed_out", 401);
  check_error(f.auth("", {{"__session", ""}, {"other", "x"}}), "signed_out", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 0);
}

BOOST_AUTO_TEST_CASE(bearer_header_authenticates) {
  Fixture f;
  auto r = f.auth("Bearer " + f.token("user_maria"));
  check_sub(r, "user_maria");
  BOOST_CHECK_EQUAL(r->azp, k_origin);
}

BOOST_AUTO_TEST_CASE(session_cookie_authenticates) {
  Fixture f;
  check_sub(f.auth("", {{"__session", f.token("user_maria")}}), "user_maria");
}

BOOST_AUTO_TEST_CASE(suffixed_session_cookie_is_accepted) {
  Fixture f;
  check_sub(f.auth("", {{"__session_Ab3dE6gH", f.token("user_maria")}}), "user_maria");
}

BOOST_AUTO_TEST_CASE(header_beats_cookie) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("user_header"), {{"__session", f.token("user_cookie")}}),
            "user_header");
  // A bad header token is not rescued by a good cookie.
  check_error(f.auth("Bearer not.a.token", {{"__session", f.token("user_cookie")}}), "token-invalid",
              401);
}

BOOST_AUTO_TEST_CASE(another_instances_cookie_does_not_hide_ours) {
  Fixture f;
  const std::string foreign = f.token("user_other_app", "ins_other", key_b());
  check_sub(f.auth("", {{"__session", foreign}, {"__session_Ab3dE6gH", f.token("user_maria")}}),
            "user_maria");
  check_error(f.auth("", {{"__session", foreign}}), "jwk-kid-mismatch", 401);
}

BOOST_AUTO_TEST_CASE(token_errors_pass_through_as_401) {
  Fixture f;
  const std::string t = f.token("user_maria");
  f.advance_s(120);
  check_error(f.auth("Bearer " + t), "token-expired", 401);
}

/* The key cache ------------------------------------------------------------ */

BOOST_AUTO_TEST_CASE(keys_are_fetched_lazily_and_cached) {
  Fixture f;
  BOOST_CHECK_EQUAL(f.n_fetches, 0);
  for (int i = 0; i < 5; ++i) {
    check_sub(f.auth("Bearer " + f.token("user_maria")), "user_maria");
    f.advance_s(30);
  }
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
}

BOOST_AUTO_TEST_CASE(cache_expires_after_five_minutes) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  f.advance_s(299);
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
  f.advance_s(1);
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
}

BOOST_AUTO_TEST_CASE(unknown_kid_triggers_one_refetch) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
  f.advance_s(5);
  check_error(f.auth("Bearer " + f.token("u1", "ins_forged")), "jwk-kid-mismatch", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
}

BOOST_AUTO_TEST_CASE(forged_kids_cannot_refetch_more_than_once_per_5s) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  check_error(f.auth("Bearer " + f.token("u1", "ins_forged")), "jwk-kid-mismatch", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 1);  // keys fetched just now: no refetch
  f.advance_s(5);
  for (int i = 0; i < 50; ++i) {
    check_error(f.auth("Bearer " + f.token("u1", "ins_forged_" + std::to_string(i))),
                "jwk-kid-mismatch", 401);
  }
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
  f.advance_s(4);
  check_error(f.auth("Bearer " + f.token("u1", "ins_forged_x")), "jwk-kid-mismatch", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
  f.advance_s(1);
  check_error(f.auth("Bearer " + f.token("u1", "ins_forged_y")), "jwk-kid-mismatch", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 3);
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");  // known kids still work meanwhile
  BOOST_CHECK_EQUAL(f.n_fetches, 3);
}

BOOST_AUTO_TEST_CASE(key_rotation_is_picked_up) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  f.jwks = jwt::jwks_json({{"ins_b", &key_b()}, {"ins_a", &key_a()}});
  f.advance_s(10);
  check_sub(f.auth("Bearer " + f.token("u2", "ins_b", key_b())), "u2");
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");  // the old key stays until Clerk drops it
  f.jwks = jwt::jwks_json({{"ins_b", &key_b()}});
  f.advance_s(300);
  check_error(f.auth("Bearer " + f.token("u1")), "jwk-kid-mismatch", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 3);
}

BOOST_AUTO_TEST_CASE(malformed_and_alg_none_tokens_never_fetch) {
  Fixture f;
  check_error(f.auth("Bearer abc"), "token-invalid", 401);
  const std::string none = "eyJhbGciOiJub25lIiwia2lkIjoiaW5zX2EifQ.eyJzdWIiOiJ1MSJ9.";  // alg none, kid ins_a
  check_error(f.auth("Bearer " + none), "token-invalid-algorithm", 401);
  BOOST_CHECK_EQUAL(f.n_fetches, 0);
}

BOOST_AUTO_TEST_CASE(first_fetch_failure_is_503) {
  Fixture f;
  f.is_down = true;
  check_error(f.auth("Bearer " + f.token("u1")), "auth_unavailable", 503);
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
  check_error(f.auth("Bearer " + f.token("u1")), "auth_unavailable", 503);  // no retry within 5 s
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
  f.is_down = false;
  f.advance_s(5);
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
}

BOOST_AUTO_TEST_CASE(fetch_that_throws_or_returns_junk_is_503) {
  Fixture f;
  f.should_throw = true;
  check_error(f.auth("Bearer " + f.token("u1")), "auth_unavailable", 503);
  Fixture g;
  g.jwks = "<html>502 Bad Gateway</html>";
  check_error(g.auth("Bearer " + g.token("u1")), "auth_unavailable", 503);
  Fixture h;
  h.jwks = "{\"keys\":[]}";
  check_error(h.auth("Bearer " + h.token("u1")), "auth_unavailable", 503);
}

BOOST_AUTO_TEST_CASE(cached_keys_decide_while_the_jwks_is_down) {
  Fixture f;
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  f.is_down = true;
  f.advance_s(600);  // cache expired, refresh fails: the known kid still verifies
  check_sub(f.auth("Bearer " + f.token("u1")), "u1");
  BOOST_CHECK_EQUAL(f.n_fetches, 2);
  f.advance_s(5);    // but an unknown kid cannot be decided
  check_error(f.auth("Bearer " + f.token("u1", "ins_new")), "auth_unavailable", 503);
  f.advance_s(3600);  // keys too old to trust
  check_error(f.auth("Bearer " + f.token("u1")), "auth_unavailable", 503);
}

BOOST_AUTO_TEST_CASE(concurrent_callers_share_one_fetch) {
  Fixture f;
  std::atomic<int> n_ok{0};
  std::vector<std::thread> threads;
  const std::string header = "Bearer " + f.token("u1");
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        if (f.verifier.authenticate(header, {}).ok()) ++n_ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_CHECK_EQUAL(n_ok, 160);
  BOOST_CHECK_EQUAL(f.n_fetches, 1);
}
