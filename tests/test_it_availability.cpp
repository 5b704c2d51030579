/* test_it_availability.cpp: schedules, session types and free slots through
 * nginx against the Cal.com emulator: sync, validation, cache and its
 * invalidation, the degraded local answer when Cal.com fails or is slow, and
 * recovery. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE availability
#include <boost/test/unit_test.hpp>

#include <ctime>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

struct Coach {
  int64_t id = 0;
  std::vector<std::pair<std::string, std::string>> auth, json;
};

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Coach new_coach(const std::string& tz = "Europe/Madrid") {
    Coach c;
    c.id = create_user(db, "coach", tz);
    c.auth = {{"Authorization", "Bearer " + clerk_token(clerk_id_of(db, c.id))}};
    c.json = c.auth;
    c.json.emplace_back("Content-Type", "application/json");
    auto r = http("POST", base_url() + "/api/cal/coaches/onboard", c.json, "{}");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return c;
  }
  int64_t create_type(const Coach& c, const std::string& slug, int minutes, const std::string& extra = "") {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"T " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":" + std::to_string(minutes) + extra + "}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  Http slots(const Coach& c, int64_t et, const std::string& start, const std::string& end, const std::string& tz) {
    return http("GET", base_url() + "/api/cal/availability?coachId=" + std::to_string(c.id) + "&eventTypeId=" +
                           std::to_string(et) + "&start=" + start + "&end=" + end + "&timeZone=" + url_encode(tz));
  }
  static std::vector<std::string> starts(const Json::Value& data) {
    std::vector<std::string> out;
    for (const auto& d : data["days"])
      for (const auto& s : d["slots"]) out.push_back(s["start"].asString());
    return out;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(new_coach_has_the_default_schedule_after_sync, Fx) {
  Coach c = new_coach();
  auto r = http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto d = r.json()["data"];
  BOOST_TEST_REQUIRE(d.size() == 1u);
  BOOST_TEST(d[0]["isDefault"].asBool());
  BOOST_TEST(d[0]["timeZone"].asString() == "Europe/Madrid");
  BOOST_TEST(d[0]["availability"][0]["startTime"].asString() == "09:00");
}

BOOST_FIXTURE_TEST_CASE(free_slots_follow_the_schedule_and_are_cached, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "hour", 60);
  std::string tue = future_weekday(2, 8);
  auto first = slots(c, et, tue, tue, "Europe/Madrid");
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  auto s1 = starts(first.json()["data"]);
  BOOST_TEST_REQUIRE(s1.size() == 8u);
  BOOST_TEST(s1.front().find(tue + "T09:00:00") == 0u, s1.front());
  BOOST_TEST(s1.back().find(tue + "T16:00:00") == 0u, s1.back());
  BOOST_TEST(first.json()["data"]["source"].asString() == "calcom");
  BOOST_TEST(!first.json()["data"]["degraded"].asBool());
  auto second = slots(c, et, tue, tue, "Europe/Madrid");
  BOOST_TEST(second.json()["data"]["source"].asString() == "cache");
  BOOST_TEST(starts(second.json()["data"]) == s1);
}

BOOST_FIXTURE_TEST_CASE(a_schedule_change_invalidates_the_cache, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "hour", 60);
  std::string tue = future_weekday(2, 8);
  BOOST_TEST_REQUIRE(slots(c, et, tue, tue, "Europe/Madrid").status == 200);
  auto list = http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth).json()["data"];
  int64_t sid = list[0]["id"].asInt64();
  auto p = http("PATCH", base_url() + "/api/cal/availability/schedules/" + std::to_string(sid), c.json,
                "{\"availability\":[{\"days\":[\"Tuesday\"],\"startTime\":\"10:00\",\"endTime\":\"12:00\"}]}");
  BOOST_TEST_REQUIRE(p.status == 200, p.body);
  auto after = slots(c, et, tue, tue, "Europe/Madrid");
  BOOST_TEST(after.json()["data"]["source"].asString() == "calcom");
  auto s = starts(after.json()["data"]);
  BOOST_TEST_REQUIRE(s.size() == 2u);
  BOOST_TEST(s[0].find(tue + "T10:00:00") == 0u);
  BOOST_TEST(s[1].find(tue + "T11:00:00") == 0u);
}

BOOST_FIXTURE_TEST_CASE(day_off_override_removes_the_day, Fx) {
  Coach c = new_coach("America/New_York");
  int64_t et = create_type(c, "half", 30);
  std::string wed = future_weekday(3, 8);
  auto list = http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth).json()["data"];
  int64_t sid = list[0]["id"].asInt64();
  auto p = http("PATCH", base_url() + "/api/cal/availability/schedules/" + std::to_string(sid), c.json,
                "{\"overrides\":[{\"date\":\"" + wed + "\",\"startTime\":\"00:00\",\"endTime\":\"00:00\"}]}");
  BOOST_TEST_REQUIRE(p.status == 200, p.body);
  auto r = slots(c, et, wed, wed, "America/New_York");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(starts(r.json()["data"]).empty());
}

BOOST_FIXTURE_TEST_CASE(cal_outage_gives_the_same_slots_marked_degraded_then_recovers, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "hour", 60, ",\"beforeEventBuffer\":15,\"afterEventBuffer\":15");
  http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth);
  std::string from = future_weekday(1, 15), to = add_days(from, 4);
  auto f = emu_post("/_emulator/faults", "{\"path_prefix\":\"/v2/slots\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200);
  auto down = slots(c, et, from, to, "Asia/Kolkata");
  BOOST_TEST_REQUIRE(down.status == 200, down.body);
  BOOST_TEST(down.json()["data"]["degraded"].asBool());
  BOOST_TEST(down.json()["data"]["source"].asString() == "local");
  // Degraded answers are not cached: the next call asks Cal.com again.
  auto up = slots(c, et, from, to, "Asia/Kolkata");
  BOOST_TEST(up.json()["data"]["source"].asString() == "calcom");
  BOOST_TEST(!up.json()["data"]["degraded"].asBool());
  auto a = starts(down.json()["data"]), b = starts(up.json()["data"]);
  // 8 hours a day, but a Kolkata viewer rounds 09:00 Madrid (13:30 IST) up to
  // 14:00 IST, so each day offers 09:30 ... 15:30 Madrid: 7 slots (reference §5.4).
  BOOST_TEST(a.size() == 35u);
  BOOST_TEST(a == b);
  BOOST_TEST(a.front().find("+05:30") != std::string::npos, a.front());
}

BOOST_FIXTURE_TEST_CASE(slow_cal_com_degrades_instead_of_hanging, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "hour", 60);
  http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth);
  std::string day = future_weekday(4, 9);
  emu_post("/_emulator/faults", "{\"path_prefix\":\"/v2/slots\",\"status\":0,\"delay_ms\":4000,\"count\":1}");
  auto r = slots(c, et, day, day, "UTC");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["data"]["degraded"].asBool());
  BOOST_TEST(starts(r.json()["data"]).size() == 8u);
}

BOOST_FIXTURE_TEST_CASE(bad_slot_queries_get_clear_4xx, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "hour", 60);
  std::string d1 = future_weekday(2, 8), d0 = future_weekday(2, 1);
  auto unknown = http("GET", base_url() + "/api/cal/availability?coachId=99999999&eventTypeId=" + std::to_string(et) +
                                 "&start=" + d1 + "&end=" + d1);
  BOOST_TEST(unknown.status == 404);
  BOOST_TEST(unknown.json()["error"]["code"].asString() == "unknown_coach");
  auto backwards = slots(c, et, d1, d0, "UTC");
  BOOST_TEST(backwards.status == 400);
  BOOST_TEST(backwards.json()["error"]["code"].asString() == "invalid_window");
  auto too_long = slots(c, et, d0, future_weekday(2, 120), "UTC");
  BOOST_TEST(too_long.status == 400);
  auto zone = slots(c, et, d1, d1, "Mars/Olympus_Mons");
  BOOST_TEST(zone.status == 400);
  BOOST_TEST(zone.json()["error"]["code"].asString() == "invalid_time_zone");
  auto garbage = slots(c, et, "tomorrow", d1, "UTC");
  BOOST_TEST(garbage.status == 400);
  auto no_type = http("GET", base_url() + "/api/cal/availability?coachId=" + std::to_string(c.id) + "&start=" + d1 + "&end=" + d1);
  BOOST_TEST(no_type.status == 400);
  Coach other = new_coach();
  int64_t other_et = create_type(other, "theirs", 30);
  auto wrong_owner = slots(c, other_et, d1, d1, "UTC");
  BOOST_TEST(wrong_owner.status == 404);
}

BOOST_FIXTURE_TEST_CASE(invalid_schedules_never_reach_cal_com, Fx) {
  Coach c = new_coach();
  auto before = emu_state()["schedules"].size();
  auto overlap = http("POST", base_url() + "/api/cal/availability/schedules", c.json,
                      "{\"name\":\"x\",\"timeZone\":\"Europe/Madrid\",\"availability\":["
                      "{\"days\":[\"Monday\"],\"startTime\":\"09:00\",\"endTime\":\"12:00\"},"
                      "{\"days\":[\"Monday\"],\"startTime\":\"11:00\",\"endTime\":\"13:00\"}]}");
  BOOST_TEST(overlap.status == 400, overlap.body);
  auto inverted = http("POST", base_url() + "/api/cal/availability/schedules", c.json,
                       "{\"name\":\"x\",\"timeZone\":\"Europe/Madrid\",\"availability\":["
                       "{\"days\":[\"Monday\"],\"startTime\":\"17:00\",\"endTime\":\"09:00\"}]}");
  BOOST_TEST(inverted.status == 400);
  auto zone = http("POST", base_url() + "/api/cal/availability/schedules", c.json, "{\"name\":\"x\",\"timeZone\":\"Nowhere/City\"}");
  BOOST_TEST(zone.status == 400);
  auto bad_date = http("POST", base_url() + "/api/cal/availability/schedules", c.json,
                       "{\"name\":\"x\",\"timeZone\":\"UTC\",\"overrides\":[{\"date\":\"2026-02-30\",\"startTime\":\"09:00\",\"endTime\":\"10:00\"}]}");
  BOOST_TEST(bad_date.status == 400);
  BOOST_TEST(emu_state()["schedules"].size() == before);
  auto good = http("POST", base_url() + "/api/cal/availability/schedules", c.json,
                   "{\"name\":\"Evenings\",\"timeZone\":\"Europe/London\",\"availability\":["
                   "{\"days\":[\"Monday\",\"Wednesday\"],\"startTime\":\"18:00\",\"endTime\":\"21:00\"}]}");
  BOOST_TEST_REQUIRE(good.status == 201, good.body);
  BOOST_TEST(emu_state()["schedules"].size() == before + 1);
  auto del_default = http("DELETE", base_url() + "/api/cal/availability/schedules/" +
                                        http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth).json()["data"][0]["id"].asString(),
                          c.auth);
  BOOST_TEST(del_default.status == 409);
  auto del = http("DELETE", base_url() + "/api/cal/availability/schedules/" + good.json()["data"]["id"].asString(), c.auth);
  BOOST_TEST(del.status == 200, del.body);
}

BOOST_FIXTURE_TEST_CASE(session_types_round_trip_with_our_price, Fx) {
  Coach c = new_coach();
  int64_t et = create_type(c, "priced", 45, ",\"priceMinor\":7500,\"currency\":\"usd\",\"beforeEventBuffer\":10");
  auto mine = http("GET", base_url() + "/api/cal/event-types/mine", c.auth).json()["data"];
  BOOST_TEST_REQUIRE(mine.size() == 1u);
  BOOST_TEST(mine[0]["priceMinor"].asInt64() == 7500);
  BOOST_TEST(mine[0]["currency"].asString() == "USD");
  BOOST_TEST(mine[0]["beforeEventBuffer"].asInt() == 10);
  auto dup = http("POST", base_url() + "/api/cal/event-types", c.json, "{\"title\":\"again\",\"slug\":\"priced\",\"lengthInMinutes\":30}");
  BOOST_TEST(dup.status == 409);
  auto bad = http("POST", base_url() + "/api/cal/event-types", c.json, "{\"title\":\"x\",\"slug\":\"Has Spaces\",\"lengthInMinutes\":30}");
  BOOST_TEST(bad.status == 400);
  auto neg = http("POST", base_url() + "/api/cal/event-types", c.json, "{\"title\":\"x\",\"slug\":\"neg\",\"lengthInMinutes\":30,\"priceMinor\":-1}");
  BOOST_TEST(neg.status == 400);
  auto patch = http("PATCH", base_url() + "/api/cal/event-types/" + std::to_string(et), c.json, "{\"lengthInMinutes\":50,\"priceMinor\":9900}");
  BOOST_TEST_REQUIRE(patch.status == 200, patch.body);
  BOOST_TEST(patch.json()["data"]["lengthInMinutes"].asInt() == 50);
  BOOST_TEST(patch.json()["data"]["priceMinor"].asInt64() == 9900);
  // Public listing shows it; another coach cannot change it.
  auto pub = http("GET", base_url() + "/api/cal/event-types?coachId=" + std::to_string(c.id));
  BOOST_TEST(pub.json()["data"].size() == 1u);
  Coach other = new_coach();
  auto steal = http("PATCH", base_url() + "/api/cal/event-types/" + std::to_string(et), other.json, "{\"priceMinor\":1}");
  BOOST_TEST(steal.status == 404);
  auto del = http("DELETE", base_url() + "/api/cal/event-types/" + std::to_string(et), c.auth);
  BOOST_TEST(del.status == 200);
  BOOST_TEST(http("GET", base_url() + "/api/cal/event-types/mine", c.auth).json()["data"].size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(agents_cannot_manage_calendars, Fx) {
  int64_t agent = create_user(db, "agent");
  std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer " + clerk_token(clerk_id_of(db, agent))},
                                                        {"Content-Type", "application/json"}};
  auto r = http("POST", base_url() + "/api/cal/availability/schedules", h, "{\"name\":\"x\",\"timeZone\":\"UTC\"}");
  BOOST_TEST(r.status == 403);
  auto e = http("POST", base_url() + "/api/cal/event-types", h, "{\"title\":\"x\",\"slug\":\"x\",\"lengthInMinutes\":30}");
  BOOST_TEST(e.status == 403);
}

/* A change made directly in Cal.com (not through us) is pulled in on demand,
 * and the pull invalidates cached slots. */
BOOST_FIXTURE_TEST_CASE(changes_made_in_cal_com_are_pulled_in, Fx) {
  Coach c = new_coach("Europe/London");
  int64_t et = create_type(c, "hour", 60);
  std::string thu = future_weekday(4, 8);
  auto list = http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth).json()["data"];
  int64_t sid = list[0]["id"].asInt64();
  BOOST_TEST(starts(slots(c, et, thu, thu, "Europe/London").json()["data"]).size() == 8u);
  // The coach edits the schedule in Cal.com itself.
  auto tok = db.query_one("SELECT access_token_enc FROM CalendarIntegration WHERE user_id = ?", {c.id})->str("access_token_enc");
  auto access = crypto::open(cfg().token_encryption_key, tok, "CalendarIntegration:" + std::to_string(c.id) + ":access");
  BOOST_TEST_REQUIRE(access.ok());
  auto direct = http("PATCH", cfg().cal_api_base_url + "/v2/schedules/" + std::to_string(sid),
                     {{"Authorization", "Bearer " + *access}, {"cal-api-version", "2024-06-11"}, {"Content-Type", "application/json"}},
                     "{\"availability\":[{\"days\":[\"Thursday\"],\"startTime\":\"13:00\",\"endTime\":\"15:00\"}]}");
  BOOST_TEST_REQUIRE(direct.status == 200, direct.body);
  auto synced = http("GET", base_url() + "/api/cal/availability/schedules?sync=1", c.auth).json()["data"];
  BOOST_TEST(synced[0]["availability"][0]["startTime"].asString() == "13:00");
  auto after = slots(c, et, thu, thu, "Europe/London");
  BOOST_TEST(after.json()["data"]["source"].asString() == "calcom");
  BOOST_TEST(starts(after.json()["data"]).size() == 2u);
}
