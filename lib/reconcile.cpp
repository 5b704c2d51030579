/* reconcile.cpp: list each coach's Cal.com bookings and converge them. */
#include "reconcile.hpp"

#include <algorithm>
#include <ctime>

#include <json/json.h>

#include "cal_integration.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "webhooks.hpp"

namespace coach::reconcile {

namespace {

std::string iso_days_ago(int days) {
  std::time_t t = std::time(nullptr) - static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<Outcome> reconcile_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t coach_user_id,
                                const Options& opt) {
  Outcome out;
  out.coach_user_id = coach_user_id;
  auto integ = integration::find_by_user(cfg, db, coach_user_id);
  if (!integ || integ->status != "active")
    return make_error(404, "not_connected", "This coach has no active Cal.com integration");
  const int take = std::clamp(opt.page_size, 1, 250);
  const std::string after = iso_days_ago(std::max(0, opt.lookback_days));
  for (int page = 0; page < opt.max_pages; ++page) {
    const std::string path = "/v2/bookings?take=" + std::to_string(take) + "&skip=" + std::to_string(page * take) +
                             "&afterStart=" + after + "&sortStart=asc";
    auto r = integration::call_as_coach(cfg, db, cal, coach_user_id, "GET", path, nullptr,
                                        webhooks::kBookingsApiVersion);
    if (!r) return r.error();
    ++out.n_pages;
    const Json::Value& data = (*r)["data"];
    if (!data.isArray()) return make_error(502, "cal_bad_response", "Cal.com's booking list has no data array");
    for (const auto& b : data) {
      ++out.n_seen;
      auto facts = webhooks::facts_from_api_booking(b);
      if (!facts) {
        ++out.n_invalid;
        log::warn("reconcile: unusable booking", {{"coach", std::to_string(coach_user_id)},
                                                  {"error", facts.error().message}});
        continue;
      }
      facts->coach_user_id_hint = coach_user_id;
      bool changed = false;
      db.transaction([&](db::Db& tx) {
        auto c = webhooks::converge_booking(tx, *facts);
        changed = c && *c;
        if (!c) log::warn("reconcile: booking rejected", {{"uid", facts->uid}, {"error", c.error().message}});
      });
      if (changed) ++out.n_changed;
    }
    const Json::Value& pg = (*r)["pagination"];
    bool more = pg.isObject() && pg["hasNextPage"].isBool() ? pg["hasNextPage"].asBool()
                                                            : data.size() == static_cast<Json::ArrayIndex>(take);
    if (!more || data.empty()) break;
  }
  log::info("reconcile: coach done", {{"coach", std::to_string(coach_user_id)}, {"seen", std::to_string(out.n_seen)},
                                      {"changed", std::to_string(out.n_changed)}, {"pages", std::to_string(out.n_pages)}});
  return out;
}

int queue_reconcile_jobs(db::Db& db, int bucket_s, int partition, int n_partitions) {
  if (n_partitions < 1) n_partitions = 1;
  if (bucket_s < 60) bucket_s = 60;
  int n = 0;
  for (const auto& r : db.query("SELECT user_id, FLOOR(UNIX_TIMESTAMP() / ?) AS bucket FROM CalendarIntegration "
                                "WHERE status = 'active' AND MOD(user_id, ?) = ? ORDER BY user_id LIMIT 20000",
                                {int64_t(bucket_s), int64_t(n_partitions), int64_t(partition)})) {
    Json::Value p;
    p["userId"] = Json::Int64(r.i64("user_id"));
    if (jobs::enqueue(db, kJobKind, "reconcile:" + r.str("user_id") + ":" + r.str("bucket"), p, 0, 3)) ++n;
  }
  return n;
}

}  // namespace coach::reconcile
