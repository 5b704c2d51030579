/* test_it_jobs.cpp: the job queue on the real database: idempotent enqueue,
 * SKIP LOCKED claims that never hand one job to two workers, backoff, dead
 * letters and lease expiry. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE jobs
#include <boost/test/unit_test.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "jobs.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {
struct Fx {
  db::Db db{db::settings_from(cfg())};
  std::string kind = "test_" + crypto::random_hex(4);
  ~Fx() { db.exec("DELETE FROM jobs WHERE kind = ?", {kind}); }
  int64_t count(const std::string& status) {
    return db.query_one("SELECT COUNT(*) AS n FROM jobs WHERE kind = ? AND status = ?", {kind, status})->i64("n");
  }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(enqueue_with_the_same_key_is_a_no_op, Fx) {
  Json::Value p;
  p["x"] = 1;
  BOOST_TEST(jobs::enqueue(db, kind, kind + ":a", p));
  BOOST_TEST(!jobs::enqueue(db, kind, kind + ":a", p));
  BOOST_TEST(count("pending") == 1);
}

BOOST_FIXTURE_TEST_CASE(concurrent_workers_never_claim_the_same_job, Fx) {
  const int n_jobs = 40;
  for (int i = 0; i < n_jobs; ++i) jobs::enqueue(db, kind, kind + ":" + std::to_string(i), Json::Value(Json::objectValue));
  std::mutex mu;
  std::multiset<int64_t> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      db::thread_init();
      {
        db::Db mydb(db::settings_from(cfg()));
        for (;;) {
          auto got = jobs::claim(mydb, "w" + std::to_string(w), {kind}, 3);
          if (got.empty()) break;
          std::lock_guard<std::mutex> lk(mu);
          for (const auto& j : got) claimed.insert(j.id);
        }
      }
      db::thread_end();
    });
  }
  for (auto& t : workers) t.join();
  BOOST_TEST(claimed.size() == size_t(n_jobs));
  std::set<int64_t> unique(claimed.begin(), claimed.end());
  BOOST_TEST(unique.size() == claimed.size());  // nobody got a job twice
  BOOST_TEST(count("running") == n_jobs);
}

BOOST_FIXTURE_TEST_CASE(failures_back_off_then_go_dead, Fx) {
  jobs::enqueue(db, kind, kind + ":f", Json::Value(Json::objectValue), 0, 2);
  auto first = jobs::claim(db, "w", {kind}, 10);
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST(first[0].attempts == 1);
  jobs::fail(db, first[0], "w", "boom token=secret123");
  BOOST_TEST(count("pending") == 1);
  auto row = db.query_one("SELECT run_after > CURRENT_TIMESTAMP(3) AS later, last_error FROM jobs WHERE id = ?", {first[0].id});
  BOOST_TEST(row->i64("later") == 1);
  BOOST_TEST(row->str("last_error").find("secret123") == std::string::npos);  // redacted
  BOOST_TEST(jobs::claim(db, "w", {kind}, 10).empty());  // not due yet
  db.exec("UPDATE jobs SET run_after = CURRENT_TIMESTAMP(3) WHERE id = ?", {first[0].id});
  auto second = jobs::claim(db, "w", {kind}, 10);
  BOOST_TEST_REQUIRE(second.size() == 1u);
  BOOST_TEST(second[0].attempts == 2);
  jobs::fail(db, second[0], "w", "boom again");
  BOOST_TEST(count("dead") == 1);
}

BOOST_FIXTURE_TEST_CASE(an_expired_lease_is_claimed_again, Fx) {
  jobs::enqueue(db, kind, kind + ":lease", Json::Value(Json::objectValue));
  auto a = jobs::claim(db, "crashed-worker", {kind}, 1, 60);
  BOOST_TEST_REQUIRE(a.size() == 1u);
  BOOST_TEST(jobs::claim(db, "other", {kind}, 1).empty());
  db.exec("UPDATE jobs SET locked_until = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE id = ?", {a[0].id});
  auto b = jobs::claim(db, "other", {kind}, 1);
  BOOST_TEST_REQUIRE(b.size() == 1u);
  BOOST_TEST(b[0].id == a[0].id);
  // The crashed worker's late completion does not overwrite the new owner's lease.
  jobs::complete(db, a[0], "crashed-worker");
  BOOST_TEST(count("running") == 1);
  jobs::complete(db, b[0], "other");
  BOOST_TEST(count("done") == 1);
}

BOOST_AUTO_TEST_CASE(backoff_grows_and_is_capped) {
  BOOST_TEST(jobs::backoff_s(1) <= 7);
  BOOST_TEST(jobs::backoff_s(6) >= 120);
  BOOST_TEST(jobs::backoff_s(30) <= 4500);
}
