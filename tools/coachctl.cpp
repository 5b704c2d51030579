/* tools/coachctl.cpp: operator commands.
 *   coachctl seed          demo users (sql/seed/demo.sql), then Cal.com accounts,
 *                          schedules and session types for two demo coaches
 *                          (Maria, Priya); James is left to onboard by hand.
 *   coachctl sync USER_ID  pull a coach's schedules and session types from Cal.com
 * Idempotent: running seed twice changes nothing the second time. */
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "availability.hpp"
#include "cal_integration.hpp"
#include "config.hpp"
#include "http_client.hpp"
#include "log.hpp"

using namespace coach;

namespace {

/* Runs the ';'-terminated statements of a SQL file (no procedures). */
Status run_sql_file(db::Db& db, const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(500, "seed", "cannot read " + path);
  std::string line, stmt;
  while (std::getline(in, line)) {
    if (line.rfind("--", 0) == 0) continue;
    stmt += line + "\n";
    size_t end = line.find_last_not_of(" \t\r");
    if (end != std::string::npos && line[end] == ';') {
      db.exec(stmt);
      stmt.clear();
    }
  }
  return ok_status();
}

Status seed_coach(availability::Ctx& c, const std::string& clerk_id, bool with_price) {
  auto u = c.db.query_one("SELECT id FROM users WHERE clerk_user_id = ?", {clerk_id});
  if (!u) return make_error(404, "seed", "demo user " + clerk_id + " is missing");
  int64_t uid = u->i64("id");
  auto i = integration::onboard_coach(c.cfg, c.db, c.cal, uid);
  if (!i) return i.error();
  auto s = availability::sync_coach(c, uid);
  if (!s) return s;
  auto have = availability::list_event_types(c.db, uid);
  auto has_slug = [&](const std::string& slug) {
    for (const auto& e : have)
      if (e.slug == slug) return true;
    return false;
  };
  if (!has_slug("intro-call")) {
    Json::Value in;
    in["title"] = "Intro call (30 min)";
    in["slug"] = "intro-call";
    in["description"] = "A short first conversation: where you are, where you want to go.";
    in["lengthInMinutes"] = 30;
    in["minimumBookingNotice"] = 120;
    auto e = availability::create_event_type(c, uid, in);
    if (!e) return e.error();
  }
  if (with_price && !has_slug("strategy-session")) {
    Json::Value in;
    in["title"] = "Strategy session (60 min)";
    in["slug"] = "strategy-session";
    in["description"] = "A deep dive into your listings, pipeline and next 90 days.";
    in["lengthInMinutes"] = 60;
    in["beforeEventBuffer"] = 10;
    in["afterEventBuffer"] = 10;
    in["minimumBookingNotice"] = 720;
    in["slotInterval"] = 30;
    in["priceMinor"] = 7500;
    in["currency"] = "USD";
    Json::Value q;
    q["type"] = "textarea";
    q["slug"] = "coaching-goal";
    q["label"] = "What do you want to work on?";
    q["required"] = true;
    in["bookingFields"].append(q);
    auto e = availability::create_event_type(c, uid, in);
    if (!e) return e.error();
  }
  std::cout << "seeded coach " << clerk_id << " (cal user " << i->cal_user_id << ")\n";
  return ok_status();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "seed") != 0 && std::strcmp(argv[1], "sync") != 0)) {
    std::cerr << "usage: coachctl seed | coachctl sync USER_ID\n";
    return 2;
  }
  const Config cfg = load_config_or_die();
  log::set_output(cfg.log_file);
  http_client::global_init();
  db::Db db(db::settings_from(cfg));
  calcom::Client cal(calcom::settings_from(cfg));
  availability::Ctx c{cfg, db, cal};
  try {
    if (std::strcmp(argv[1], "sync") == 0) {
      if (argc != 3) {
        std::cerr << "usage: coachctl sync USER_ID\n";
        return 2;
      }
      auto s = availability::sync_coach(c, std::atoll(argv[2]));
      if (!s) {
        std::cerr << "sync failed: " << s.error().message << "\n";
        return 1;
      }
      return 0;
    }
    auto s = run_sql_file(db, "sql/seed/demo.sql");
    if (!s) {
      std::cerr << s.error().message << "\n";
      return 1;
    }
    for (const auto& [id, priced] : {std::pair<std::string, bool>{"user_demo_coach_maria", true},
                                     std::pair<std::string, bool>{"user_demo_coach_priya", false}}) {
      auto r = seed_coach(c, id, priced);
      if (!r) {
        std::cerr << "seed " << id << " failed: " << r.error().code << ": " << r.error().message << "\n";
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "coachctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
