/* test_it_cal_integration.cpp: onboarding, encrypted tokens, rotation and the
 * refresh race, against the real MariaDB and the Cal.com emulator. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE cal_integration
#include <boost/test/unit_test.hpp>

#include <thread>
#include <vector>

#include "cal_integration.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {
struct Fx {
  db::Db db{db::settings_from(cfg())};
  calcom::Client cal{calcom::settings_from(cfg())};
  std::string raw_column(int64_t uid, const std::string& col) {
    return db.query_one("SELECT " + col + " AS v FROM CalendarIntegration WHERE user_id = ?", {uid})->str("v");
  }
  std::string decrypted(int64_t uid, const char* which) {
    std::string col = std::string(which) + "_token_enc";
    auto r = crypto::open(cfg().token_encryption_key, raw_column(uid, col),
                          "CalendarIntegration:" + std::to_string(uid) + ":" + which);
    BOOST_TEST_REQUIRE(r.ok());
    return *r;
  }
  std::string email_of(int64_t uid) {
    return db.query_one("SELECT email FROM users WHERE id = ?", {uid})->str("email");
  }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(onboarding_twice_creates_one_managed_user, Fx) {
  int64_t uid = create_user(db, "coach", "Europe/Madrid");
  auto a = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(a.ok(), (a.ok() ? "" : a.error().message));
  auto b = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(b.ok());
  BOOST_TEST(a->cal_user_id == b->cal_user_id);
  BOOST_TEST(a->status == "active");
  BOOST_TEST(a->time_zone == "Europe/Madrid");
  BOOST_TEST(a->default_schedule_id > 0);  // created because a time zone was given
  auto listed = cal.list_managed_users(50, 0, {email_of(uid)});
  BOOST_TEST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(tokens_are_encrypted_at_rest_and_usable, Fx) {
  int64_t uid = create_user(db, "coach");
  BOOST_TEST_REQUIRE(integration::onboard_coach(cfg(), db, cal, uid).ok());
  std::string raw = raw_column(uid, "access_token_enc");
  std::string token = decrypted(uid, "access");
  BOOST_TEST(raw.rfind("v1.", 0) == 0u);
  BOOST_TEST(raw.find(token) == std::string::npos);
  BOOST_TEST(token.size() > 20u);
  // The decrypted token really is the coach's Cal.com token.
  auto me = cal.me(token);
  BOOST_TEST_REQUIRE(me.ok());
  BOOST_TEST(json::num(*me, "id") == integration::find_by_user(cfg(), db, uid)->cal_user_id);
  // Another key, or the ciphertext moved to another user's row, does not open it.
  BOOST_TEST(!crypto::open(std::string(32, 'x'), raw, "CalendarIntegration:" + std::to_string(uid) + ":access").ok());
  BOOST_TEST(!crypto::open(cfg().token_encryption_key, raw, "CalendarIntegration:" + std::to_string(uid + 1) + ":access").ok());
}

BOOST_FIXTURE_TEST_CASE(onboarding_recovers_a_user_created_before_a_crash, Fx) {
  int64_t uid = create_user(db, "coach", "America/New_York");
  // A previous attempt created the Cal.com user, then died before storing it.
  calcom::NewManagedUser nu;
  nu.email = email_of(uid);
  nu.name = "Crashed before store";
  nu.time_zone = "America/New_York";
  auto created = cal.create_managed_user(nu);
  BOOST_TEST_REQUIRE(created.ok());
  int64_t force_before = emu_counter("forceRefreshes");
  auto r = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST(r->cal_user_id == created->first.id);
  BOOST_TEST(emu_counter("forceRefreshes") == force_before + 1);
  auto listed = cal.list_managed_users(50, 0, {nu.email});
  BOOST_TEST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(rotation_retires_the_old_refresh_token, Fx) {
  int64_t uid = create_user(db, "coach");
  BOOST_TEST_REQUIRE(integration::onboard_coach(cfg(), db, cal, uid).ok());
  std::string old_refresh = decrypted(uid, "refresh");
  auto r = integration::refresh_tokens(cfg(), db, cal, uid, integration::RefreshMode::rotate);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST(r->how == "rotated");
  BOOST_TEST(r->after.token_version == r->before.token_version + 1);
  BOOST_TEST(r->after.refresh_count == r->before.refresh_count + 1);
  BOOST_TEST(decrypted(uid, "refresh") != old_refresh);
  auto reuse = cal.refresh(old_refresh);
  BOOST_TEST_REQUIRE(!reuse.ok());
  BOOST_TEST(reuse.error().code == "cal_bad_request");
  BOOST_TEST(cal.me(decrypted(uid, "access")).ok());
}

BOOST_FIXTURE_TEST_CASE(token_still_fresh_is_not_refreshed, Fx) {
  int64_t uid = create_user(db, "coach");
  BOOST_TEST_REQUIRE(integration::onboard_coach(cfg(), db, cal, uid).ok());
  auto r = integration::refresh_tokens(cfg(), db, cal, uid, integration::RefreshMode::if_needed);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r->how == "already-fresh");
  BOOST_TEST(r->after.token_version == r->before.token_version);
}

/* Eight processes' worth of connections all see the same expired token at the
 * same moment: exactly one rotation happens, nobody presents a used refresh
 * token, and nobody needs force-refresh. Without the row lock each thread
 * would rotate with the same refresh token and all but one would be refused. */
BOOST_FIXTURE_TEST_CASE(concurrent_refreshes_do_not_burn_the_refresh_token, Fx) {
  int64_t uid = create_user(db, "coach");
  BOOST_TEST_REQUIRE(integration::onboard_coach(cfg(), db, cal, uid).ok());
  const std::string stale = decrypted(uid, "access");
  const int64_t version0 = integration::find_by_user(cfg(), db, uid)->token_version;
  const int64_t reuse0 = emu_counter("refreshReuseRejections");
  const int64_t ok0 = emu_counter("refreshSuccesses");
  const int64_t force0 = emu_counter("forceRefreshes");
  const int n = 8;
  std::vector<std::string> outcome(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      db::thread_init();
      {
        db::Db mydb(db::settings_from(cfg()));
        calcom::Client mycal(calcom::settings_from(cfg()));
        auto r = integration::refresh_tokens(cfg(), mydb, mycal, uid, integration::RefreshMode::if_needed, stale);
        outcome[i] = r.ok() ? r->how : "error:" + r.error().code;
      }
      db::thread_end();
    });
  }
  for (auto& t : threads) t.join();
  int rotated = 0, by_other = 0;
  for (const auto& o : outcome) {
    BOOST_TEST(o.rfind("error", 0) != 0u, o);
    if (o == "rotated") ++rotated;
    if (o == "refreshed-by-other") ++by_other;
  }
  BOOST_TEST(rotated == 1);
  BOOST_TEST(by_other == n - 1);
  BOOST_TEST(emu_counter("refreshReuseRejections") == reuse0);
  BOOST_TEST(emu_counter("refreshSuccesses") == ok0 + 1);
  BOOST_TEST(emu_counter("forceRefreshes") == force0);
  BOOST_TEST(integration::find_by_user(cfg(), db, uid)->token_version == version0 + 1);
}

/* Forced rotations from many threads run one after another: every one
 * presents the refresh token the previous one stored. */
BOOST_FIXTURE_TEST_CASE(concurrent_forced_rotations_are_serialized, Fx) {
  int64_t uid = create_user(db, "coach");
  BOOST_TEST_REQUIRE(integration::onboard_coach(cfg(), db, cal, uid).ok());
  const int64_t reuse0 = emu_counter("refreshReuseRejections");
  const int64_t force0 = emu_counter("forceRefreshes");
  const int n = 6;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      db::thread_init();
      {
        db::Db mydb(db::settings_from(cfg()));
        calcom::Client mycal(calcom::settings_from(cfg()));
        auto r = integration::refresh_tokens(cfg(), mydb, mycal, uid, integration::RefreshMode::rotate);
        if (r.ok() && r->how == "rotated") ++ok;
      }
      db::thread_end();
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(ok.load() == n);
  BOOST_TEST(emu_counter("refreshReuseRejections") == reuse0);
  BOOST_TEST(emu_counter("forceRefreshes") == force0);
}

BOOST_FIXTURE_TEST_CASE(expired_access_token_is_refreshed_on_498_and_retried, Fx) {
  int64_t uid = create_user(db, "coach");
  auto i = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(i.ok());
  auto ex = emu_post("/_emulator/expire-access-tokens", "{\"userId\":" + std::to_string(i->cal_user_id) + "}");
  BOOST_TEST_REQUIRE(ex.status == 200);
  const int64_t expired0 = emu_counter("expiredTokenRejections");
  auto me = integration::call_as_coach(cfg(), db, cal, uid, "GET", "/v2/me", nullptr);
  BOOST_TEST_REQUIRE(me.ok(), (me.ok() ? "" : me.error().message));
  BOOST_TEST(json::num((*me)["data"], "id") == i->cal_user_id);
  BOOST_TEST(emu_counter("expiredTokenRejections") == expired0 + 1);
  BOOST_TEST(integration::find_by_user(cfg(), db, uid)->token_version == i->token_version + 1);
}

BOOST_FIXTURE_TEST_CASE(lost_refresh_token_falls_back_to_force_refresh, Fx) {
  int64_t uid = create_user(db, "coach");
  auto i = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(i.ok());
  emu_post("/_emulator/expire-access-tokens", "{\"userId\":" + std::to_string(i->cal_user_id) + ",\"refresh\":true}");
  auto r = integration::refresh_tokens(cfg(), db, cal, uid, integration::RefreshMode::rotate);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST(r->how == "force-refresh");
  BOOST_TEST(cal.me(decrypted(uid, "access")).ok());
}

BOOST_FIXTURE_TEST_CASE(upstream_failure_leaves_no_tokens_and_retry_succeeds, Fx) {
  int64_t uid = create_user(db, "coach");
  auto f = emu_post("/_emulator/faults",
                    "{\"path_prefix\":\"/v2/oauth-clients/\",\"method\":\"GET\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200);
  auto r = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "cal_unavailable");
  BOOST_TEST(r.error().http_status == 502);
  auto row = db.query_one("SELECT status, access_token_enc IS NULL AS no_tok, cal_user_id IS NULL AS no_cal, last_error "
                          "FROM CalendarIntegration WHERE user_id = ?", {uid});
  BOOST_TEST_REQUIRE(row.has_value());
  BOOST_TEST(row->str("status") == "error");
  BOOST_TEST(row->i64("no_tok") == 1);
  BOOST_TEST(row->i64("no_cal") == 1);
  BOOST_TEST(!row->str("last_error").empty());
  auto again = integration::onboard_coach(cfg(), db, cal, uid);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(again->status == "active");
}

BOOST_FIXTURE_TEST_CASE(unknown_user_is_a_404_and_writes_nothing, Fx) {
  auto r = integration::onboard_coach(cfg(), db, cal, 987654321);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().http_status == 404);
  BOOST_TEST(!db.query_one("SELECT id FROM CalendarIntegration WHERE user_id = 987654321").has_value());
}
