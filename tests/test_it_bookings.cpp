/* test_it_bookings.cpp: /api/cal/bookings through nginx against the Cal.com
 * emulator and MariaDB: create (slot gone from a fresh availability query),
 * the double-booking race, idempotent retries, authorization, reschedule and
 * cancel with their e-mail sequences, bad input, and a Cal.com outage. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE bookings
#include <boost/test/unit_test.hpp>

#include <ctime>
#include <thread>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

const char* kFields =
    ",\"bookingFields\":[{\"type\":\"text\",\"slug\":\"goal\",\"label\":\"Your goal\",\"required\":true},"
    "{\"type\":\"select\",\"slug\":\"level\",\"label\":\"Level\",\"required\":false,\"options\":[\"new\",\"experienced\"]}]";

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() { http_client::global_init(); }

  Person person(const std::string& role, const std::string& tz = "Europe/London") { return signed_in(db, role, tz); }
  Person new_coach() { return onboarded_coach(db); }
  int64_t create_type(const Person& c, const std::string& slug, int minutes) {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"Session " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":" +
                      std::to_string(minutes) + ",\"priceMinor\":0" + kFields + "}");  // free: priced ones pay first (test_it_payments)
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  /* Slot starts (UTC ISO) of one day. */
  std::vector<std::string> slot_starts(const Person& c, int64_t et, const std::string& day) {
    return day_slot_starts(c.id, et, day);
  }
  static std::string body(const Person& c, int64_t et, const std::string& start, const std::string& key,
                          const std::string& responses = "{\"goal\":\"Close more listings\",\"level\":\"new\"}") {
    return "{\"coachId\":" + std::to_string(c.id) + ",\"eventTypeId\":" + std::to_string(et) + ",\"start\":\"" + start +
           "\",\"timeZone\":\"America/New_York\",\"responses\":" + responses +
           (key.empty() ? std::string() : ",\"idempotencyKey\":\"" + key + "\"") + "}";
  }
  Http book(const Person& agent, const Person& c, int64_t et, const std::string& start, const std::string& key = "") {
    return http("POST", base_url() + "/api/cal/bookings", agent.json, body(c, et, start, key));
  }
  int64_t mail_jobs(const std::string& ics_uid, const std::string& infix = "") {
    return db.query_one("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email' AND idempotency_key LIKE ?",
                        {"mail:" + ics_uid + ":" + infix + "%"})
        ->i64("n");
  }
  static int64_t emu_bookings_of(int64_t et) {
    int64_t n = 0;
    const Json::Value st = emu_state();
    for (const auto& b : st["bookings"])
      if (b["eventTypeId"].asInt64() == et) ++n;
    return n;
  }
  std::string random_key() { return "k-" + crypto::random_hex(8); }
};

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

/* The slot list's start strings may carry milliseconds; compare instants. */
std::vector<std::string> norm_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(norm_iso(s));
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(create_records_the_booking_and_the_slot_disappears, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "hour", 60);
  std::string day = future_weekday(2, 8);
  auto before = slot_starts(coach, et, day);  // also warms the cache
  BOOST_TEST_REQUIRE(before.size() == 8u);
  std::string start = norm_iso(before[2]);
  auto r = book(agent, coach, et, start, random_key());
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto d = r.json()["data"];
  std::string uid = d["uid"].asString();
  BOOST_TEST(!uid.empty());
  BOOST_TEST(d["status"].asString() == "accepted");
  BOOST_TEST(d["startUtc"].asString() == start);
  BOOST_TEST(d["coach"]["userId"].asInt64() == coach.id);
  BOOST_TEST(d["agent"]["userId"].asInt64() == agent.id);
  BOOST_TEST(d["agent"]["timeZone"].asString() == "America/New_York");
  BOOST_TEST(d["eventType"]["lengthInMinutes"].asInt() == 60);
  BOOST_TEST(d["eventType"]["priceMinor"].asInt64() == 0);
  BOOST_TEST(d["payment"].isNull());   // free: nothing to pay
  BOOST_TEST(d["responses"]["goal"].asString() == "Close more listings");
  BOOST_TEST(d["icsUid"].asString() == uid + "@coach-marketplace");
  BOOST_TEST(d["sequence"].asInt() == 0);
  BOOST_TEST(d["viewerRole"].asString() == "agent");
  BOOST_TEST(d["canCancel"].asBool());

  auto row = db.query_one("SELECT coach_user_id, agent_user_id, status, cal_event_type_id FROM CalBooking WHERE cal_uid = ?", {uid});
  BOOST_TEST_REQUIRE(row.has_value());
  BOOST_TEST(row->i64("coach_user_id") == coach.id);
  BOOST_TEST(row->i64("agent_user_id") == agent.id);
  BOOST_TEST(row->str("status") == "accepted");
  BOOST_TEST(row->i64("cal_event_type_id") == et);

  auto after = norm_all(slot_starts(coach, et, day));
  BOOST_TEST(!has(after, start), "the booked slot is still offered");
  BOOST_TEST(after.size() == 7u);
  BOOST_TEST(mail_jobs(uid + "@coach-marketplace", "0:created:") == 2);  // coach + agent

  // Both sides see it; the list pages.
  auto g = http("GET", base_url() + "/api/cal/bookings/" + uid, coach.auth);
  BOOST_TEST_REQUIRE(g.status == 200, g.body);
  BOOST_TEST(g.json()["data"]["viewerRole"].asString() == "coach");
  auto l = http("GET", base_url() + "/api/cal/bookings?status=upcoming", agent.auth);
  BOOST_TEST_REQUIRE(l.status == 200, l.body);
  BOOST_TEST(l.json()["data"].size() == 1u);
  BOOST_TEST(l.json()["data"][0]["uid"].asString() == uid);
  auto lc = http("GET", base_url() + "/api/cal/bookings?status=cancelled", agent.auth);
  BOOST_TEST(lc.json()["data"].size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(double_booking_race_has_exactly_one_winner, Fx) {
  Person coach = new_coach();
  int64_t et = create_type(coach, "race", 60);
  std::string day = future_weekday(3, 9);
  auto starts = slot_starts(coach, et, day);
  BOOST_TEST_REQUIRE(starts.size() >= 4u);
  std::string start = norm_iso(starts[3]);
  constexpr int kN = 8;
  std::vector<Person> agents;
  for (int i = 0; i < kN; ++i) agents.push_back(person("agent"));
  std::vector<Http> results(kN);
  std::vector<std::string> failures(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i)
    threads.emplace_back([&, i] {
      try {
        results[i] = book(agents[i], coach, et, start, "race-" + std::to_string(i));
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  int n_created = 0, n_taken = 0;
  for (int i = 0; i < kN; ++i) {
    BOOST_TEST(failures[i].empty(), failures[i]);
    if (results[i].status == 201) ++n_created;
    if (results[i].status == 409) {
      auto e = results[i].json()["error"];
      BOOST_TEST(e["code"].asString() == "slot_taken");
      BOOST_TEST(e["freshSlots"]["days"].isArray());
      std::vector<std::string> fresh;
      for (const auto& d : e["freshSlots"]["days"])
        for (const auto& s : d["slots"]) fresh.push_back(norm_iso(s["start"].asString()));
      BOOST_TEST(!fresh.empty());
      BOOST_TEST(!has(fresh, start), "the taken slot is offered again to a loser");
      ++n_taken;
    }
  }
  BOOST_TEST(n_created == 1);
  BOOST_TEST(n_taken == kN - 1);
  BOOST_TEST(emu_bookings_of(et) == 1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ? AND status = 'accepted'",
                          {coach.id})->i64("n") == 1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM booking_intents WHERE coach_user_id = ? AND active_start_utc IS NOT NULL",
                          {coach.id})->i64("n") == 0);
}

BOOST_FIXTURE_TEST_CASE(same_idempotency_key_returns_the_same_booking, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "idem", 60);
  std::string day = future_weekday(4, 8);
  std::string start = norm_iso(slot_starts(coach, et, day)[1]);
  std::string key = random_key();
  auto a = book(agent, coach, et, start, key);
  BOOST_TEST_REQUIRE(a.status == 201, a.body);
  auto b = book(agent, coach, et, start, key);
  BOOST_TEST_REQUIRE(b.status == 200, b.body);
  std::string uid = a.json()["data"]["uid"].asString();
  BOOST_TEST(b.json()["data"]["uid"].asString() == uid);
  // The header form of the key is the same key.
  Headers h = agent.json;
  h.emplace_back("Idempotency-Key", key);
  auto c = http("POST", base_url() + "/api/cal/bookings", h, body(coach, et, start, ""));
  BOOST_TEST(c.status == 200, c.body);
  BOOST_TEST(c.json()["data"]["uid"].asString() == uid);
  BOOST_TEST(emu_bookings_of(et) == 1);
  BOOST_TEST(mail_jobs(uid + "@coach-marketplace") == 2);
  // The same key for another request is refused.
  std::string other = norm_iso(slot_starts(coach, et, day)[3]);
  auto d = book(agent, coach, et, other, key);
  BOOST_TEST(d.status == 409, d.body);
  BOOST_TEST(d.json()["error"]["code"].asString() == "idempotency_conflict");
}

BOOST_FIXTURE_TEST_CASE(others_cannot_see_or_touch_a_booking, Fx) {
  Person coach = new_coach(), agent = person("agent"), stranger = person("agent");
  Person other_coach = new_coach();
  int64_t et = create_type(coach, "authz", 30);
  std::string start = norm_iso(slot_starts(coach, et, future_weekday(1, 8))[0]);
  auto r = book(agent, coach, et, start, random_key());
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  std::string uid = r.json()["data"]["uid"].asString();
  for (const Person* p : {&stranger, &other_coach}) {
    auto g = http("GET", base_url() + "/api/cal/bookings/" + uid, p->auth);
    BOOST_TEST(g.status == 404, g.body);
    BOOST_TEST(g.json()["error"]["code"].asString() == "not_found");
    auto c = http("POST", base_url() + "/api/cal/bookings/" + uid + "/cancel", p->json, "{\"reason\":\"no\"}");
    BOOST_TEST(c.status == 404, c.body);
    auto s = http("POST", base_url() + "/api/cal/bookings/" + uid + "/reschedule", p->json, "{\"start\":\"" + start + "\"}");
    BOOST_TEST(s.status == 404, s.body);
    auto l = http("GET", base_url() + "/api/cal/bookings", p->auth);
    BOOST_TEST(l.json()["data"].size() == 0u);
  }
  BOOST_TEST(http("GET", base_url() + "/api/cal/bookings/" + uid).status == 401);
  auto still = db.query_one("SELECT status FROM CalBooking WHERE cal_uid = ?", {uid});
  BOOST_TEST(still->str("status") == "accepted");
}

BOOST_FIXTURE_TEST_CASE(reschedule_then_cancel_keeps_the_ics_chain, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "chain", 60);
  std::string day = future_weekday(2, 10);
  auto starts = slot_starts(coach, et, day);
  std::string first = norm_iso(starts[0]), second = norm_iso(starts[4]);
  auto r = book(agent, coach, et, first, random_key());
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  std::string uid = r.json()["data"]["uid"].asString();
  std::string ics = uid + "@coach-marketplace";

  auto s = http("POST", base_url() + "/api/cal/bookings/" + uid + "/reschedule", agent.json,
                "{\"start\":\"" + second + "\",\"reason\":\"Clash with a viewing\"}");
  BOOST_TEST_REQUIRE(s.status == 200, s.body);
  auto nb = s.json()["data"];
  std::string new_uid = nb["uid"].asString();
  BOOST_TEST(new_uid != uid);
  BOOST_TEST(nb["startUtc"].asString() == second);
  BOOST_TEST(nb["rescheduledFromUid"].asString() == uid);
  BOOST_TEST(nb["icsUid"].asString() == ics);
  BOOST_TEST(nb["sequence"].asInt() == 1);
  BOOST_TEST(nb["responses"]["goal"].asString() == "Close more listings");
  auto old = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.auth).json()["data"];
  BOOST_TEST(old["status"].asString() == "cancelled");
  BOOST_TEST(old["rescheduledToUid"].asString() == new_uid);
  BOOST_TEST(mail_jobs(ics, "1:rescheduled:") == 2);
  // The old time is free again, the new one is not.
  auto now_free = norm_all(slot_starts(coach, et, day));
  BOOST_TEST(has(now_free, first));
  BOOST_TEST(!has(now_free, second));
  // A retry of the same reschedule answers with the same new booking.
  auto again = http("POST", base_url() + "/api/cal/bookings/" + uid + "/reschedule", agent.json,
                    "{\"start\":\"" + second + "\"}");
  BOOST_TEST(again.status == 200, again.body);
  BOOST_TEST(again.json()["data"]["uid"].asString() == new_uid);
  BOOST_TEST(mail_jobs(ics, "1:rescheduled:") == 2);

  // The coach cancels.
  auto c = http("POST", base_url() + "/api/cal/bookings/" + new_uid + "/cancel", coach.json, "{\"reason\":\"Sick\"}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(c.json()["data"]["status"].asString() == "cancelled");
  BOOST_TEST(c.json()["data"]["cancelledBy"].asString() == "coach");
  BOOST_TEST(c.json()["data"]["cancelReason"].asString() == "Sick");
  BOOST_TEST(c.json()["data"]["sequence"].asInt() == 2);
  BOOST_TEST(mail_jobs(ics, "2:cancelled:") == 2);
  BOOST_TEST(has(norm_all(slot_starts(coach, et, day)), second));
  auto twice = http("POST", base_url() + "/api/cal/bookings/" + new_uid + "/cancel", agent.json, "{}");
  BOOST_TEST(twice.status == 409, twice.body);
  BOOST_TEST(twice.json()["error"]["code"].asString() == "already_cancelled");
  BOOST_TEST(mail_jobs(ics) == 6);
  // A cancelled booking cannot be rescheduled, nor can the replaced one move again.
  auto rs = http("POST", base_url() + "/api/cal/bookings/" + new_uid + "/reschedule", agent.json,
                 "{\"start\":\"" + norm_iso(starts[6]) + "\"}");
  BOOST_TEST(rs.status == 409, rs.body);
  BOOST_TEST(rs.json()["error"]["code"].asString() == "booking_not_active");
  auto rs2 = http("POST", base_url() + "/api/cal/bookings/" + uid + "/reschedule", agent.json,
                  "{\"start\":\"" + norm_iso(starts[6]) + "\"}");
  BOOST_TEST(rs2.status == 409, rs2.body);
  auto lc = http("GET", base_url() + "/api/cal/bookings?status=cancelled", agent.auth).json();
  BOOST_TEST(lc["data"].size() == 2u);
  BOOST_TEST(lc["pagination"]["total"].asInt() == 2);
  auto page = http("GET", base_url() + "/api/cal/bookings?status=cancelled&take=1", agent.auth).json();
  BOOST_TEST(page["data"].size() == 1u);
  BOOST_TEST(page["pagination"]["hasMore"].asBool());
}

BOOST_FIXTURE_TEST_CASE(bad_input_gets_clear_errors, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "bad", 60);
  std::string start = norm_iso(slot_starts(coach, et, future_weekday(5, 8))[0]);
  auto post = [&](const std::string& b) { return http("POST", base_url() + "/api/cal/bookings", agent.json, b); };
  auto code_of = [](const Http& h) { return h.json()["error"]["code"].asString(); };
  std::string base = "{\"coachId\":" + std::to_string(coach.id) + ",\"eventTypeId\":" + std::to_string(et) +
                     ",\"timeZone\":\"UTC\",\"responses\":{\"goal\":\"x\"}";
  auto missing = post(base + "}");
  BOOST_TEST(missing.status == 400);
  BOOST_TEST(code_of(missing) == "missing_field");
  auto not_iso = post(base + ",\"start\":\"next tuesday\"}");
  BOOST_TEST(not_iso.status == 400);
  BOOST_TEST(code_of(not_iso) == "invalid_time");
  auto past = post(base + ",\"start\":\"2020-01-07T09:00:00Z\"}");
  BOOST_TEST(past.status == 400);
  BOOST_TEST(code_of(past) == "invalid_time");
  auto unknown_type = post("{\"coachId\":" + std::to_string(coach.id) + ",\"eventTypeId\":987654321,\"start\":\"" + start +
                           "\",\"timeZone\":\"UTC\"}");
  BOOST_TEST(unknown_type.status == 404);
  BOOST_TEST(code_of(unknown_type) == "unknown_event_type");
  auto unknown_coach = post("{\"coachId\":" + std::to_string(agent.id) + ",\"eventTypeId\":" + std::to_string(et) +
                            ",\"start\":\"" + start + "\",\"timeZone\":\"UTC\"}");
  BOOST_TEST(unknown_coach.status == 404);
  BOOST_TEST(code_of(unknown_coach) == "unknown_coach");
  auto no_goal = http("POST", base_url() + "/api/cal/bookings", agent.json, body(coach, et, start, "", "{\"level\":\"new\"}"));
  BOOST_TEST(no_goal.status == 400);
  BOOST_TEST(code_of(no_goal) == "invalid_responses");
  BOOST_TEST(no_goal.json()["error"]["message"].asString().find("goal") != std::string::npos);
  auto bad_option = http("POST", base_url() + "/api/cal/bookings", agent.json,
                         body(coach, et, start, "", "{\"goal\":\"x\",\"level\":\"guru\"}"));
  BOOST_TEST(bad_option.status == 400);
  BOOST_TEST(code_of(bad_option) == "invalid_responses");
  auto bad_zone = post("{\"coachId\":" + std::to_string(coach.id) + ",\"eventTypeId\":" + std::to_string(et) +
                       ",\"start\":\"" + start + "\",\"timeZone\":\"Mars/Olympus\"}");
  BOOST_TEST(bad_zone.status == 400);
  auto form = http("POST", base_url() + "/api/cal/bookings", agent.auth, "coachId=1");
  BOOST_TEST(form.status == 415);
  auto anon = http("POST", base_url() + "/api/cal/bookings", {{"Content-Type", "application/json"}}, body(coach, et, start, ""));
  BOOST_TEST(anon.status == 401);
  BOOST_TEST(http("GET", base_url() + "/api/cal/bookings?status=someday", agent.auth).status == 400);
  BOOST_TEST(http("GET", base_url() + "/api/cal/bookings/nope/frobnicate", agent.auth).status == 404);
  // Nothing of it reached Cal.com.
  BOOST_TEST(emu_bookings_of(et) == 0);
}

BOOST_FIXTURE_TEST_CASE(cal_outage_gives_502_and_the_same_key_succeeds_later, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "outage", 60);
  std::string start = norm_iso(slot_starts(coach, et, future_weekday(4, 11))[2]);
  std::string key = random_key();
  auto f = emu_post("/_emulator/faults", "{\"path_prefix\":\"/v2/bookings\",\"method\":\"POST\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  auto down = book(agent, coach, et, start, key);
  BOOST_TEST(down.status == 502, down.body);
  BOOST_TEST(down.json()["error"]["code"].asString() == "upstream_unavailable");
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CalBooking WHERE agent_user_id = ?", {agent.id})->i64("n") == 0);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM booking_intents WHERE agent_user_id = ? AND active_start_utc IS NOT NULL",
                          {agent.id})->i64("n") == 0);
  BOOST_TEST(emu_bookings_of(et) == 0);
  auto up = book(agent, coach, et, start, key);
  BOOST_TEST_REQUIRE(up.status == 201, up.body);
  BOOST_TEST(emu_bookings_of(et) == 1);
  std::string uid = up.json()["data"]["uid"].asString();
  BOOST_TEST(mail_jobs(uid + "@coach-marketplace") == 2);
}

BOOST_FIXTURE_TEST_CASE(a_slot_booked_behind_our_back_is_slot_taken, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "behind", 60);
  std::string day = future_weekday(5, 12);
  std::string start = norm_iso(slot_starts(coach, et, day)[1]);
  // Someone books straight on Cal.com; we have no row for it (no webhook).
  auto direct = http("POST", cfg().cal_api_base_url + "/v2/bookings",
                     {{"Content-Type", "application/json"}, {"cal-api-version", "2024-08-13"}},
                     "{\"start\":\"" + start + "\",\"eventTypeId\":" + std::to_string(et) +
                         ",\"attendee\":{\"name\":\"Walk In\",\"email\":\"walkin@example.test\",\"timeZone\":\"UTC\"},"
                         "\"bookingFieldsResponses\":{\"goal\":\"x\"}}");
  BOOST_TEST_REQUIRE(direct.status == 201, direct.body);
  auto r = book(agent, coach, et, start, random_key());
  BOOST_TEST(r.status == 409, r.body);
  BOOST_TEST(r.json()["error"]["code"].asString() == "slot_taken");
  BOOST_TEST(emu_bookings_of(et) == 1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM booking_intents WHERE agent_user_id = ? AND active_start_utc IS NOT NULL",
                          {agent.id})->i64("n") == 0);
  // Another slot of the same day still books fine.
  std::string other = norm_iso(slot_starts(coach, et, day)[3]);
  auto ok = book(agent, coach, et, other, random_key());
  BOOST_TEST(ok.status == 201, ok.body);
}
