/* test_it_http.cpp: real HTTP through nginx to the FastCGI binaries: sign-in,
 * roles, CSRF, bad input, and the plain-CGI fallback of one binary. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE http_stack
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <sys/wait.h>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {
struct Fx {
  db::Db db{db::settings_from(cfg())};
  std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  std::string token_for_new(const std::string& role) {
    return clerk_token(clerk_id_of(db, create_user(db, role)));
  }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(home_lists_seeded_coaches_without_sign_in, Fx) {
  auto r = http("GET", base_url() + "/");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find("Maria Lopez") != std::string::npos);
  BOOST_TEST(r.body.find("Sign in") != std::string::npos);
  auto j = http("GET", base_url() + "/api/cal/coaches");
  BOOST_TEST(j.status == 200);
  BOOST_TEST(j.json()["data"].size() >= 3u);
}

BOOST_FIXTURE_TEST_CASE(healthz_checks_the_database, Fx) {
  auto r = http("GET", base_url() + "/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.json()["db"].asBool());
}

BOOST_FIXTURE_TEST_CASE(test_pages_need_sign_in, Fx) {
  for (const std::string page : {"/cal-oauth-test", "/cal-db-test"}) {
    auto r = http("GET", base_url() + page);
    BOOST_TEST(r.status == 303);
    BOOST_TEST(r.headers["location"].rfind("/sign-in?redirect_url=", 0) == 0u, r.headers["location"]);
  }
  auto api = http("GET", base_url() + "/api/cal/coaches/me/integration");
  BOOST_TEST(api.status == 401);
  BOOST_TEST(api.json()["error"]["code"].asString() == "signed_out");
}

BOOST_FIXTURE_TEST_CASE(sign_in_redirects_to_clerk_with_our_origin_only, Fx) {
  auto r = http("GET", base_url() + "/sign-in?redirect_url=" + url_encode("https://evil.example/"));
  BOOST_TEST(r.status == 303);
  BOOST_TEST(r.headers["location"].rfind(cfg().clerk_sign_in_url, 0) == 0u);
  BOOST_TEST(r.headers["location"].find("evil.example") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(valid_session_cookie_opens_the_test_page_for_a_coach, Fx) {
  std::string tok = token_for_new("coach");
  auto r = http("GET", base_url() + "/cal-oauth-test", {{"Cookie", "__session=" + tok}});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find("Create Cal.com managed user") != std::string::npos);
  auto db_page = http("GET", base_url() + "/cal-db-test", {{"Cookie", "__session=" + tok}});
  BOOST_TEST(db_page.status == 200);
  BOOST_TEST(db_page.body.find("CalendarIntegration") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(agents_cannot_open_coach_pages, Fx) {
  auto r = http("GET", base_url() + "/cal-oauth-test", bearer(token_for_new("agent")));
  BOOST_TEST(r.status == 403);
}

BOOST_FIXTURE_TEST_CASE(expired_forged_and_pending_tokens_are_refused, Fx) {
  std::string sub = clerk_id_of(db, create_user(db, "coach"));
  Json::Value expired;
  expired["exp_offset_s"] = -60;
  auto r1 = http("GET", base_url() + "/api/cal/coaches/me/integration", bearer(clerk_token(sub, expired)));
  BOOST_TEST(r1.status == 401);
  BOOST_TEST(r1.json()["error"]["code"].asString() == "token-expired");

  std::string good = clerk_token(sub);
  std::string forged = good;
  size_t dot = forged.find('.');
  forged[dot + 5] = forged[dot + 5] == 'A' ? 'B' : 'A';  // tamper with the payload
  auto r2 = http("GET", base_url() + "/api/cal/coaches/me/integration", bearer(forged));
  BOOST_TEST(r2.status == 401);

  Json::Value pending;
  pending["sts"] = "pending";
  auto r3 = http("GET", base_url() + "/api/cal/coaches/me/integration", bearer(clerk_token(sub, pending)));
  BOOST_TEST(r3.status == 401);

  Json::Value wrong_azp;
  wrong_azp["azp"] = "https://evil.example";
  auto r4 = http("GET", base_url() + "/api/cal/coaches/me/integration", bearer(clerk_token(sub, wrong_azp)));
  BOOST_TEST(r4.status == 401);

  // The same valid token works (so the refusals above are about the token).
  auto ok = http("GET", base_url() + "/api/cal/coaches/me/integration", bearer(good));
  BOOST_TEST(ok.status == 404);  // signed in; simply not connected yet
  BOOST_TEST(ok.json()["error"]["code"].asString() == "not_connected");
}

BOOST_FIXTURE_TEST_CASE(onboarding_through_the_api_then_refresh, Fx) {
  auto h = bearer(token_for_new("coach"));
  h.emplace_back("Content-Type", "application/json");
  auto r = http("POST", base_url() + "/api/cal/coaches/onboard", h, "{}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(d["status"].asString() == "active");
  BOOST_TEST(d["calUserId"].asInt64() > 0);
  BOOST_TEST(d["accessToken"].asString().find("…") != std::string::npos);  // masked
  auto again = http("POST", base_url() + "/api/cal/coaches/onboard", h, "{}");
  BOOST_TEST(again.json()["data"]["calUserId"].asInt64() == d["calUserId"].asInt64());
  auto ref = http("POST", base_url() + "/api/cal/coaches/me/refresh", h, "{\"mode\":\"rotate\"}");
  BOOST_TEST_REQUIRE(ref.status == 200, ref.body);
  BOOST_TEST(ref.json()["data"]["how"].asString() == "rotated");
  BOOST_TEST(ref.json()["data"]["after"]["tokenVersion"].asInt() == ref.json()["data"]["before"]["tokenVersion"].asInt() + 1);
  auto prof = http("GET", base_url() + "/api/cal/coaches/me/cal-profile", h);
  BOOST_TEST(prof.status == 200);
  BOOST_TEST(prof.json()["data"]["id"].asInt64() == d["calUserId"].asInt64());
}

BOOST_FIXTURE_TEST_CASE(bad_input_gets_clear_json_errors, Fx) {
  auto h = bearer(token_for_new("coach"));
  auto json_h = h;
  json_h.emplace_back("Content-Type", "application/json");
  auto malformed = http("POST", base_url() + "/api/cal/coaches/onboard", json_h, "{\"userId\": ");
  BOOST_TEST(malformed.status == 400);
  BOOST_TEST(malformed.json()["error"]["code"].asString() == "bad_json");
  auto wrong_type = http("POST", base_url() + "/api/cal/coaches/onboard", json_h, "{\"userId\":\"x\"}");
  BOOST_TEST(wrong_type.status == 400);
  BOOST_TEST(wrong_type.json()["error"]["message"].asString().find("userId") != std::string::npos);
  auto bad_mode = http("POST", base_url() + "/api/cal/coaches/me/refresh", json_h, "{\"mode\":\"sideways\"}");
  BOOST_TEST(bad_mode.status == 400);
  auto wrong_method = http("DELETE", base_url() + "/api/cal/coaches/onboard", h);
  BOOST_TEST(wrong_method.status == 405);
  BOOST_TEST(wrong_method.headers.count("allow") == 1u);
  auto not_json = http("POST", base_url() + "/api/cal/coaches/onboard", h, "userId=1");
  BOOST_TEST(not_json.status == 415);
  auto someone_else = http("POST", base_url() + "/api/cal/coaches/onboard", json_h, "{\"userId\":1}");
  BOOST_TEST(someone_else.status == 403);
  auto unknown = http("GET", base_url() + "/api/cal/coaches/99999999/integration", h);
  BOOST_TEST(unknown.status == 404);
  // Over the app's 1 MiB cap: the endpoint answers; far over it: nginx does.
  for (size_t size : {size_t(1536 * 1024), size_t(3 * 1024 * 1024)}) {
    auto oversized = http("POST", base_url() + "/api/cal/coaches/onboard", json_h, std::string(size, 'x'));
    BOOST_TEST(oversized.status == 413);
    BOOST_TEST(oversized.json()["error"]["code"].asString() == "body_too_large", oversized.body);
  }
  auto nowhere = http("GET", base_url() + "/api/cal/no-such-thing");
  BOOST_TEST(nowhere.status == 404);
}

BOOST_FIXTURE_TEST_CASE(admin_can_onboard_an_unknown_coach_and_gets_404, Fx) {
  auto h = bearer(token_for_new("admin"));
  h.emplace_back("Content-Type", "application/json");
  auto r = http("POST", base_url() + "/api/cal/coaches/onboard", h, "{\"userId\":99999999}");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["error"]["code"].asString() == "unknown_user");
}

BOOST_FIXTURE_TEST_CASE(forms_without_csrf_token_are_refused, Fx) {
  std::string tok = token_for_new("coach");
  auto r = http("POST", base_url() + "/cal-db-test",
                {{"Cookie", "__session=" + tok}, {"Content-Type", "application/x-www-form-urlencoded"}},
                "action=onboard");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body.find("csrf") != std::string::npos);
  // The page's own token works.
  auto page = http("GET", base_url() + "/cal-db-test", {{"Cookie", "__session=" + tok}});
  auto pos = page.body.find("name=\"csrf_token\" value=\"");
  BOOST_TEST_REQUIRE(pos != std::string::npos);
  std::string csrf = page.body.substr(pos + 25, 64);
  auto ok = http("POST", base_url() + "/cal-db-test",
                 {{"Cookie", "__session=" + tok}, {"Content-Type", "application/x-www-form-urlencoded"}},
                 "action=onboard&csrf_token=" + csrf);
  BOOST_TEST(ok.status == 200, ok.body.substr(0, 300));
  BOOST_TEST(ok.body.find("is stored for") != std::string::npos);
  BOOST_TEST(ok.body.find("cal_managed") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(db_test_page_refresh_shows_before_and_after, Fx) {
  std::string tok = token_for_new("coach");
  std::vector<std::pair<std::string, std::string>> h = {{"Cookie", "__session=" + tok},
                                                        {"Content-Type", "application/x-www-form-urlencoded"}};
  auto page = http("GET", base_url() + "/cal-db-test", {{"Cookie", "__session=" + tok}});
  auto pos = page.body.find("name=\"csrf_token\" value=\"");
  BOOST_TEST_REQUIRE(pos != std::string::npos);
  std::string csrf = page.body.substr(pos + 25, 64);
  BOOST_TEST_REQUIRE(http("POST", base_url() + "/cal-db-test", h, "action=onboard&csrf_token=" + csrf).status == 200);
  auto r = http("POST", base_url() + "/cal-db-test", h, "action=refresh&csrf_token=" + csrf);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find("id=\"before\"") != std::string::npos);
  BOOST_TEST(r.body.find("id=\"after\"") != std::string::npos);
  BOOST_TEST(r.body.find("Tokens refreshed (rotated)") != std::string::npos);
  auto read = http("POST", base_url() + "/cal-db-test", h, "action=read&csrf_token=" + csrf);
  BOOST_TEST(read.body.find("Read back from the CalendarIntegration table") != std::string::npos);
}

/* The same binary serves one request as plain CGI when stdin is not a socket. */
BOOST_AUTO_TEST_CASE(endpoint_binary_runs_as_plain_cgi) {
  std::string bin = env_or("COACH_REPO_DIR", ".") + "/build/release/cgi-bin/health";
  std::string cmd = "env REQUEST_METHOD=GET DOCUMENT_URI=/healthz QUERY_STRING= " + bin + " </dev/null 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  BOOST_TEST(WEXITSTATUS(rc) == 0);
  BOOST_TEST(out.rfind("Status: 200 OK\r\n", 0) == 0u, out);
  BOOST_TEST(out.find("\"db\":true") != std::string::npos);
}

/* Connecting an existing Cal.com account: connect -> Cal.com consent ->
 * callback with a single-use state bound to the user who started it. */
BOOST_FIXTURE_TEST_CASE(oauth2_connection_of_an_existing_account, Fx) {
  auto h = bearer(token_for_new("coach"));
  auto start = http("GET", base_url() + "/api/cal/oauth/connect", h);
  BOOST_TEST_REQUIRE(start.status == 302);
  std::string authorize = start.headers["location"];
  BOOST_TEST(authorize.rfind(cfg().cal_oauth2_authorize_url + "?", 0) == 0u, authorize);
  auto q = parse_urlencoded(authorize.substr(authorize.find('?') + 1));
  BOOST_TEST(q["redirect_uri"] == cfg().public_base_url + "/api/cal/oauth/callback");
  BOOST_TEST(q["state"].size() == 64u);

  // The person allows access for the pre-seeded Cal.com account 9001.
  std::string form = "client_id=" + url_encode(q["client_id"]) + "&redirect_uri=" + url_encode(q["redirect_uri"]) +
                     "&state=" + q["state"] + "&scope=" + url_encode(q["scope"]) + "&user_id=9001&decision=allow";
  auto consent = http("POST", cfg().cal_api_base_url + "/auth/oauth2/authorize",
                      {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  BOOST_TEST_REQUIRE(consent.status == 303);
  std::string back = consent.headers["location"];
  BOOST_TEST_REQUIRE(back.rfind(q["redirect_uri"] + "?", 0) == 0u, back);
  std::string callback_url = base_url() + back.substr(cfg().public_base_url.size());

  // Someone else's session cannot finish this flow.
  auto other = http("GET", callback_url, bearer(token_for_new("coach")));
  BOOST_TEST(other.status == 403);
  // ... and that refused attempt did not burn the state for its owner.
  auto done = http("GET", callback_url, h);
  BOOST_TEST_REQUIRE(done.status == 303, done.body.substr(0, 400));
  BOOST_TEST(done.headers["location"] == "/cal-oauth-test?connected=1");
  auto integ = http("GET", base_url() + "/api/cal/coaches/me/integration", h);
  BOOST_TEST(integ.status == 200);
  BOOST_TEST(integ.json()["data"]["provider"].asString() == "cal_oauth2");
  BOOST_TEST(integ.json()["data"]["calUserId"].asInt64() == 9001);
  // The same callback again: the state is single-use.
  auto replay = http("GET", callback_url, h);
  BOOST_TEST(replay.status == 400);
  // Tokens of an OAuth2 connection refresh through the OAuth2 token endpoint.
  auto hj = h;
  hj.emplace_back("Content-Type", "application/json");
  auto ref = http("POST", base_url() + "/api/cal/coaches/me/refresh", hj, "{\"mode\":\"rotate\"}");
  BOOST_TEST(ref.status == 200, ref.body);
  // The account is linked once: a second user cannot take it over.
  auto h2 = bearer(token_for_new("coach"));
  auto start2 = http("GET", base_url() + "/api/cal/oauth/connect", h2);
  auto q2 = parse_urlencoded(start2.headers["location"].substr(start2.headers["location"].find('?') + 1));
  std::string form2 = "client_id=" + url_encode(q2["client_id"]) + "&redirect_uri=" + url_encode(q2["redirect_uri"]) +
                      "&state=" + q2["state"] + "&scope=" + url_encode(q2["scope"]) + "&user_id=9001&decision=allow";
  auto consent2 = http("POST", cfg().cal_api_base_url + "/auth/oauth2/authorize",
                       {{"Content-Type", "application/x-www-form-urlencoded"}}, form2);
  std::string back2 = consent2.headers["location"];
  auto taken = http("GET", base_url() + back2.substr(cfg().public_base_url.size()), h2);
  BOOST_TEST(taken.status == 409);
}

BOOST_FIXTURE_TEST_CASE(oauth2_denied_or_forged_callbacks_are_clear_errors, Fx) {
  auto h = bearer(token_for_new("coach"));
  auto denied = http("GET", base_url() + "/api/cal/oauth/callback?error=access_denied&state=x", h);
  BOOST_TEST(denied.status == 400);
  BOOST_TEST(denied.body.find("declined") != std::string::npos);
  BOOST_TEST(denied.headers["content-type"].find("text/html") == 0u);
  auto forged = http("GET", base_url() + "/api/cal/oauth/callback?code=abc&state=" + std::string(64, 'a'), h);
  BOOST_TEST(forged.status == 400);
  auto anon = http("GET", base_url() + "/api/cal/oauth/callback?code=abc&state=x");
  BOOST_TEST(anon.status == 303);
}
