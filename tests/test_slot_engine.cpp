/* test_slot_engine.cpp: the slot engine against the reference
 * (calcom-api-v2.md §5.3-5.4): every worked example, DST weeks in New York,
 * London and Sydney, half-hour zones, buffers, limits, holds, the booking
 * window, booking checks, schedule JSON validation and ISO times. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE slot_engine
#include <boost/test/unit_test.hpp>

#include <json/json.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "slot_engine.hpp"

using namespace coach;
using namespace coach::slots;
namespace tt = boost::test_tools;

namespace {

using Strings = std::vector<std::string>;

const int64_t k_type = 5531;   // the event type being booked
const int64_t k_other = 777;   // another event type of the same coach
const char* const k_long_ago = "2026-01-01T00:00:00Z";

Instant at(const std::string& iso) {
  auto r = parse_iso(iso);
  if (!r) throw std::runtime_error("bad instant in test: " + iso);
  return *r;
}

int hm(const std::string& s) { return std::stoi(s.substr(0, 2)) * 60 + std::stoi(s.substr(3, 2)); }

/* local("2026-03-10", "+01:00", {"09:00"}) -> {"2026-03-10T09:00:00.000+01:00"} */
Strings local(const std::string& date, const std::string& off, const Strings& times) {
  Strings out;
  for (const auto& t : times) out.push_back(date + "T" + t + ":00.000" + off);
  return out;
}

/* Wall-clock times first..last every `step` minutes (same offset throughout). */
Strings every(const std::string& date, const std::string& off, const std::string& first, const std::string& last,
              int step) {
  Strings times;
  for (int m = hm(first); m <= hm(last); m += step) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", m / 60, m % 60);
    times.push_back(buf);
  }
  return local(date, off, times);
}

Strings cat(Strings a, const Strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Strings k_nine_to_four = {"09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"};

Schedule weekdays(const std::string& zone, const std::string& from = "09:00", const std::string& to = "17:00") {
  return Schedule{zone, {Rule{{1, 2, 3, 4, 5}, hm(from), hm(to)}}, {}};
}

EventRules hour_event() {
  EventRules e;
  e.event_type_id = k_type;
  e.length_min = 60;
  return e;
}

/* Date-only query: first 00:00:00Z .. last 23:59:59Z, as Cal.com reads it. */
Query days_query(const std::string& first, const std::string& last, const std::string& view = "UTC") {
  Query q;
  q.start = at(first + "T00:00:00Z");
  q.end = at(last + "T23:59:59Z");
  q.view_zone = view;
  q.now = at(k_long_ago);
  return q;
}

Busy booking(const std::string& start, const std::string& end, int64_t type, int before = 0, int after = 0,
             const std::string& uid = "") {
  Busy b;
  b.start = at(start);
  b.end = at(end);
  b.event_type_id = type;
  b.before_buffer_min = before;
  b.after_buffer_min = after;
  b.uid = uid;
  return b;
}

struct Input {
  Schedule schedule = weekdays("Europe/Madrid");
  EventRules event = hour_event();
  std::vector<Busy> busy;
  std::vector<Hold> holds;
  Query query = days_query("2026-03-10", "2026-03-10", "Europe/Madrid");
};

struct Output {
  Strings keys, starts;
};

Output run(const Input& in) {
  auto r = compute(in.schedule, in.event, in.busy, in.holds, in.query);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().code + ": " + r.error().message));
  Output o;
  for (const Day& d : *r) {
    o.keys.push_back(d.date);
    for (const Slot& s : d.slots) o.starts.push_back(format_iso(s.start, in.query.view_zone));
  }
  return o;
}

struct Case {
  const char* name;
  std::function<void(Input&)> setup;
  Strings keys;
  Strings starts;
};

void run_table(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Input in;
      c.setup(in);
      const Output o = run(in);
      BOOST_TEST(o.keys == c.keys, tt::per_element());
      BOOST_TEST(o.starts == c.starts, tt::per_element());
    }
  }
}

std::string code_of(const Status& s) { return s.ok() ? "ok" : s.error().code; }

}  // namespace

/* ---- reference §5.4 ---------------------------------------------------- */

BOOST_AUTO_TEST_CASE(worked_examples_A_to_H) {
  const auto madrid10 = local("2026-03-10", "+01:00", k_nine_to_four);
  run_table({
      {"A baseline", [](Input&) {}, {"2026-03-10"}, madrid10},
      {"A without timeZone is UTC",
       [](Input& in) { in.query.view_zone = "UTC"; },
       {"2026-03-10"},
       {"2026-03-10T08:00:00.000Z", "2026-03-10T09:00:00.000Z", "2026-03-10T10:00:00.000Z", "2026-03-10T11:00:00.000Z",
        "2026-03-10T12:00:00.000Z", "2026-03-10T13:00:00.000Z", "2026-03-10T14:00:00.000Z", "2026-03-10T15:00:00.000Z"}},
      {"B slotInterval 30", [](Input& in) { in.event.slot_interval_min = 30; }, {"2026-03-10"},
       local("2026-03-10", "+01:00",
             {"09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30",
              "15:00", "15:30", "16:00"})},
      {"C buffers widen a booking to 10:30-12:30",
       [](Input& in) {
         in.event.before_buffer_min = in.event.after_buffer_min = 15;
         in.busy = {booking("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", k_type, 15, 15)};
       },
       {"2026-03-10"},
       local("2026-03-10", "+01:00", {"09:00", "13:00", "14:00", "15:00", "16:00"})},
      {"C2 buffers with slotInterval 30",
       [](Input& in) {
         in.event.before_buffer_min = in.event.after_buffer_min = 15;
         in.event.slot_interval_min = 30;
         in.busy = {booking("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", k_type, 15, 15)};
       },
       {"2026-03-10"},
       local("2026-03-10", "+01:00",
             {"09:00", "09:30", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"})},
      {"D notice 120 at 09:20 rounds 11:20 up to 12:00",
       [](Input& in) {
         in.event.minimum_notice_min = 120;
         in.query.now = at("2026-03-10T09:20:00+01:00");
       },
       {"2026-03-10"},
       local("2026-03-10", "+01:00", {"12:00", "13:00", "14:00", "15:00", "16:00"})},
      {"E override replaces the rules of 03-11 only",
       [](Input& in) {
         in.schedule.overrides = {Override{"2026-03-11", hm("14:00"), hm("18:00")}};
         in.query = days_query("2026-03-10", "2026-03-11", "Europe/Madrid");
       },
       {"2026-03-10", "2026-03-11"},
       cat(madrid10, local("2026-03-11", "+01:00", {"14:00", "15:00", "16:00", "17:00"}))},
      {"E2 00:00-00:00 override removes the day",
       [](Input& in) {
         in.schedule.overrides = {Override{"2026-03-11", 0, 0}};
         in.query = days_query("2026-03-10", "2026-03-12", "Europe/Madrid");
       },
       {"2026-03-10", "2026-03-12"},
       cat(madrid10, local("2026-03-12", "+01:00", k_nine_to_four))},
      {"F 45-minute event steps by 45",
       [](Input& in) { in.event.length_min = 45; },
       {"2026-03-10"},
       local("2026-03-10", "+01:00",
             {"09:00", "09:45", "10:30", "11:15", "12:00", "12:45", "13:30", "14:15", "15:00", "15:45"})},
      {"G day limit reached by this event type removes 03-12",
       [](Input& in) {
         in.event.limit_per_day = 2;
         in.busy = {booking("2026-03-12T09:00:00Z", "2026-03-12T10:00:00Z", k_type),
                    booking("2026-03-12T13:00:00Z", "2026-03-12T14:00:00Z", k_type)};
         in.query = days_query("2026-03-10", "2026-03-12", "Europe/Madrid");
       },
       {"2026-03-10", "2026-03-11"},
       cat(madrid10, local("2026-03-11", "+01:00", k_nine_to_four))},
      {"H other event types do not count toward the limit",
       [](Input& in) {
         in.event.limit_per_day = 2;
         in.busy = {booking("2026-03-12T09:00:00Z", "2026-03-12T10:00:00Z", k_other),
                    booking("2026-03-12T13:00:00Z", "2026-03-12T14:00:00Z", k_other)};
         in.query = days_query("2026-03-10", "2026-03-12", "Europe/Madrid");
       },
       {"2026-03-10", "2026-03-11", "2026-03-12"},
       cat(cat(madrid10, local("2026-03-11", "+01:00", k_nine_to_four)),
           local("2026-03-12", "+01:00", {"09:00", "11:00", "12:00", "13:00", "15:00", "16:00"}))},
  });
}

BOOST_AUTO_TEST_CASE(worked_examples_dst_utc_output) {
  auto hours_z = [](const std::string& date, int first, int last) {
    Strings s;
    for (int h = first; h <= last; ++h) s.push_back(date + "T" + (h < 10 ? "0" : "") + std::to_string(h) + ":00:00.000Z");
    return s;
  };
  run_table({
      {"New York before the switch (EST)",
       [](Input& in) {
         in.schedule = weekdays("America/New_York");
         in.query = days_query("2026-03-06", "2026-03-06");
       },
       {"2026-03-06"}, hours_z("2026-03-06", 14, 21)},
      {"New York after the switch (EDT)",
       [](Input& in) {
         in.schedule = weekdays("America/New_York");
         in.query = days_query("2026-03-09", "2026-03-09");
       },
       {"2026-03-09"}, hours_z("2026-03-09", 13, 20)},
      {"Madrid before the EU switch",
       [](Input& in) { in.query = days_query("2026-03-27", "2026-03-27"); },
       {"2026-03-27"}, hours_z("2026-03-27", 8, 15)},
      {"Madrid after the EU switch",
       [](Input& in) { in.query = days_query("2026-03-30", "2026-03-30"); },
       {"2026-03-30"}, hours_z("2026-03-30", 7, 14)},
  });
}

BOOST_AUTO_TEST_CASE(rounding_happens_in_the_viewer_zone) {
  auto setup_c = [](Input& in) {
    in.event.before_buffer_min = in.event.after_buffer_min = 15;
    in.busy = {booking("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", k_type, 15, 15)};
  };
  run_table({
      {"UTC viewer: 12:30 Madrid (11:30Z) rounds to 12:00Z",
       [&](Input& in) {
         setup_c(in);
         in.query.view_zone = "UTC";
       },
       {"2026-03-10"},
       {"2026-03-10T08:00:00.000Z", "2026-03-10T12:00:00.000Z", "2026-03-10T13:00:00.000Z", "2026-03-10T14:00:00.000Z",
        "2026-03-10T15:00:00.000Z"}},
      {"Kolkata viewer: 12:30 Madrid is 17:00 IST, aligned, offered",
       [&](Input& in) {
         setup_c(in);
         in.query.view_zone = "Asia/Kolkata";
       },
       {"2026-03-10"},
       // 09:00 Madrid = 13:30 IST rounds to 14:00 IST (09:30 Madrid), which still fits before 10:30.
       local("2026-03-10", "+05:30", {"14:00", "17:00", "18:00", "19:00", "20:00"})},
  });
}

/* ---- DST weeks ------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(dst_week_new_york_spring_forward) {
  Input in;
  in.schedule = Schedule{"America/New_York", {Rule{{1, 2, 3, 4, 5, 6}, hm("09:00"), hm("10:00")},
                                              Rule{{0}, hm("02:00"), hm("04:00")}}, {}};
  in.query = days_query("2026-03-05", "2026-03-11");
  Output o = run(in);
  BOOST_TEST(o.starts == (Strings{"2026-03-05T14:00:00.000Z", "2026-03-06T14:00:00.000Z", "2026-03-07T14:00:00.000Z",
                                  "2026-03-08T07:00:00.000Z",  // 02:00-04:00 -> 07:00Z-08:00Z: one real hour
                                  "2026-03-09T13:00:00.000Z", "2026-03-10T13:00:00.000Z", "2026-03-11T13:00:00.000Z"}),
             tt::per_element());
  in.query.view_zone = "America/New_York";
  o = run(in);
  BOOST_TEST(o.starts == (Strings{"2026-03-05T09:00:00.000-05:00", "2026-03-06T09:00:00.000-05:00",
                                  "2026-03-07T09:00:00.000-05:00", "2026-03-08T03:00:00.000-04:00",
                                  "2026-03-09T09:00:00.000-04:00", "2026-03-10T09:00:00.000-04:00",
                                  "2026-03-11T09:00:00.000-04:00"}),
             tt::per_element());
  BOOST_TEST(format_iso(*local_to_utc("2026-03-08", hm("02:00"), "America/New_York"), "UTC") == "2026-03-08T07:00:00.000Z");
  BOOST_TEST(format_iso(*local_to_utc("2026-03-08", hm("02:30"), "America/New_York"), "UTC") == "2026-03-08T07:30:00.000Z");
  BOOST_TEST(format_iso(*local_to_utc("2026-03-08", hm("04:00"), "America/New_York"), "UTC") == "2026-03-08T08:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(dst_week_new_york_fall_back) {
  Input in;
  in.schedule = Schedule{"America/New_York", {Rule{{1, 2, 3, 4, 5, 6}, hm("09:00"), hm("10:00")},
                                              Rule{{0}, hm("01:00"), hm("02:00")}}, {}};
  in.query = days_query("2026-10-29", "2026-11-04");
  Output o = run(in);
  BOOST_TEST(o.starts == (Strings{"2026-10-29T13:00:00.000Z", "2026-10-30T13:00:00.000Z", "2026-10-31T13:00:00.000Z",
                                  "2026-11-01T05:00:00.000Z", "2026-11-01T06:00:00.000Z",  // 05:00Z-07:00Z
                                  "2026-11-02T14:00:00.000Z", "2026-11-03T14:00:00.000Z", "2026-11-04T14:00:00.000Z"}),
             tt::per_element());
  in.query.view_zone = "America/New_York";
  o = run(in);
  BOOST_TEST(o.keys == (Strings{"2026-10-29", "2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03",
                                "2026-11-04"}),
             tt::per_element());
  BOOST_TEST(o.starts == (Strings{"2026-10-29T09:00:00.000-04:00", "2026-10-30T09:00:00.000-04:00",
                                  "2026-10-31T09:00:00.000-04:00", "2026-11-01T01:00:00.000-04:00",
                                  "2026-11-01T01:00:00.000-05:00", "2026-11-02T09:00:00.000-05:00",
                                  "2026-11-03T09:00:00.000-05:00", "2026-11-04T09:00:00.000-05:00"}),
             tt::per_element());
  BOOST_TEST(format_iso(*local_to_utc("2026-11-01", hm("01:00"), "America/New_York"), "UTC") == "2026-11-01T05:00:00.000Z");
  BOOST_TEST(format_iso(*local_to_utc("2026-11-01", hm("01:30"), "America/New_York"), "UTC") == "2026-11-01T05:30:00.000Z");
  BOOST_TEST(format_iso(*local_to_utc("2026-11-01", hm("02:00"), "America/New_York"), "UTC") == "2026-11-01T07:00:00.000Z");
  // The two-hour range is bookable as a whole.
  BOOST_TEST(code_of(check_bookable(in.schedule, in.event, {}, at("2026-11-01T05:00:00Z"), 120, at(k_long_ago))) == "ok");
}

BOOST_AUTO_TEST_CASE(dst_weeks_london) {
  const Schedule london{"Europe/London", {Rule{{0, 1, 2, 3, 4, 5, 6}, hm("09:00"), hm("10:00")},
                                          Rule{{0}, hm("00:00"), hm("03:00")}}, {}};
  run_table({
      {"spring 2026-03-29: 00:00-03:00 is two real hours",
       [&](Input& in) {
         in.schedule = london;
         in.query = days_query("2026-03-27", "2026-03-31", "Europe/London");
       },
       {"2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"},
       {"2026-03-27T09:00:00.000+00:00", "2026-03-28T09:00:00.000+00:00", "2026-03-29T00:00:00.000+00:00",
        "2026-03-29T02:00:00.000+01:00", "2026-03-29T09:00:00.000+01:00", "2026-03-30T09:00:00.000+01:00",
        "2026-03-31T09:00:00.000+01:00"}},
      {"fall 2026-10-25: 00:00-03:00 is four real hours, 01:00 twice",
       [&](Input& in) {
         in.schedule = london;
         in.query = days_query("2026-10-23", "2026-10-27", "Europe/London");
       },
       {"2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"},
       {"2026-10-23T09:00:00.000+01:00", "2026-10-24T09:00:00.000+01:00", "2026-10-25T00:00:00.000+01:00",
        "2026-10-25T01:00:00.000+01:00", "2026-10-25T01:00:00.000+00:00", "2026-10-25T02:00:00.000+00:00",
        "2026-10-25T09:00:00.000+00:00", "2026-10-26T09:00:00.000+00:00", "2026-10-27T09:00:00.000+00:00"}},
  });
}

BOOST_AUTO_TEST_CASE(dst_weeks_sydney) {
  run_table({
      {"fall back 2026-04-05: 02:00-03:00 repeated, two real hours",
       [](Input& in) {
         in.schedule = Schedule{"Australia/Sydney", {Rule{{0, 1, 2, 3, 4, 5, 6}, hm("09:00"), hm("10:00")},
                                                     Rule{{0}, hm("02:00"), hm("03:00")}}, {}};
         in.query = days_query("2026-04-03", "2026-04-05", "Australia/Sydney");
       },
       {"2026-04-04", "2026-04-05", "2026-04-06"},
       {"2026-04-04T09:00:00.000+11:00", "2026-04-05T02:00:00.000+11:00", "2026-04-05T02:00:00.000+10:00",
        "2026-04-05T09:00:00.000+10:00", "2026-04-06T09:00:00.000+10:00"}},
      {"spring forward 2026-10-04: 02:00-04:00 is one real hour from 03:00",
       [](Input& in) {
         in.schedule = Schedule{"Australia/Sydney", {Rule{{0, 1, 2, 3, 4, 5, 6}, hm("09:00"), hm("10:00")},
                                                     Rule{{0}, hm("02:00"), hm("04:00")}}, {}};
         in.query = days_query("2026-10-02", "2026-10-04", "Australia/Sydney");
       },
       {"2026-10-03", "2026-10-04", "2026-10-05"},
       {"2026-10-03T09:00:00.000+10:00", "2026-10-04T03:00:00.000+11:00", "2026-10-04T09:00:00.000+11:00",
        "2026-10-05T09:00:00.000+11:00"}},
  });
  BOOST_TEST(format_iso(*local_to_utc("2026-04-05", hm("02:30"), "Australia/Sydney"), "UTC") == "2026-04-04T15:30:00.000Z");
  BOOST_TEST(format_iso(*local_to_utc("2026-10-04", hm("02:30"), "Australia/Sydney"), "UTC") == "2026-10-03T16:30:00.000Z");
}

/* ---- zones of coach and viewer --------------------------------------- */

BOOST_AUTO_TEST_CASE(half_hour_zones) {
  run_table({
      {"Kolkata coach, Kolkata viewer: 09:00-16:00 IST",
       [](Input& in) { in.schedule = weekdays("Asia/Kolkata"); in.query.view_zone = "Asia/Kolkata"; },
       {"2026-03-10"}, local("2026-03-10", "+05:30", k_nine_to_four)},
      {"Kolkata coach, UTC viewer: 03:30Z rounds to 04:00Z, one slot fewer",
       [](Input& in) { in.schedule = weekdays("Asia/Kolkata"); in.query.view_zone = "UTC"; },
       {"2026-03-10"},
       local("2026-03-10", "Z", {"04:00", "05:00", "06:00", "07:00", "08:00", "09:00", "10:00"})},
      {"Madrid coach, Kolkata viewer: 13:30 IST rounds to 14:00",
       [](Input& in) { in.query.view_zone = "Asia/Kolkata"; },
       {"2026-03-10"},
       local("2026-03-10", "+05:30", {"14:00", "15:00", "16:00", "17:00", "18:00", "19:00", "20:00"})},
  });
}

BOOST_AUTO_TEST_CASE(viewer_dates_cross_midnight) {
  run_table({
      {"Madrid evening lands on the next Sydney date",
       [](Input& in) {
         in.schedule = weekdays("Europe/Madrid", "18:00", "21:00");
         in.query = days_query("2026-03-10", "2026-03-11", "Australia/Sydney");
       },
       {"2026-03-11", "2026-03-12"},
       cat(local("2026-03-11", "+11:00", {"04:00", "05:00", "06:00"}),
           local("2026-03-12", "+11:00", {"04:00", "05:00", "06:00"}))},
      {"one Madrid day split over two Sydney dates",
       [](Input& in) {
         in.schedule = weekdays("Europe/Madrid", "11:00", "15:00");
         in.query.view_zone = "Australia/Sydney";
       },
       {"2026-03-10", "2026-03-11"},
       cat(local("2026-03-10", "+11:00", {"21:00", "22:00", "23:00"}), local("2026-03-11", "+11:00", {"00:00"}))},
  });
}

/* ---- step details ---------------------------------------------------- */

BOOST_AUTO_TEST_CASE(generation_details) {
  run_table({
      {"duration 30 on a 60-min event steps by 30",
       [](Input& in) { in.query.duration_min = 30; },
       {"2026-03-10"}, every("2026-03-10", "+01:00", "09:00", "16:30", 30)},
      {"23:59 means midnight; a window end of 23:59:59 still fits 23:00-24:00",
       [](Input& in) {
         in.schedule = Schedule{"UTC", {Rule{{2}, 0, 1440}}, {}};
         in.query.view_zone = "UTC";
       },
       {"2026-03-10"}, every("2026-03-10", "Z", "00:00", "23:00", 60)},
      {"zero notice still skips the current minute",
       [](Input& in) { in.query.now = at("2026-03-10T09:00:00+01:00"); },
       {"2026-03-10"}, local("2026-03-10", "+01:00", {"10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"})},
      {"zero notice a minute before the range start keeps it",
       [](Input& in) { in.query.now = at("2026-03-10T08:59:00+01:00"); },
       {"2026-03-10"}, local("2026-03-10", "+01:00", k_nine_to_four)},
      {"offsetStart shifts the first start and widens the step",
       [](Input& in) { in.event.offset_start_min = 5; },
       {"2026-03-10"},
       local("2026-03-10", "+01:00", {"09:05", "10:10", "11:15", "12:20", "13:25", "14:30", "15:35"})},
      {"touching rules stay separate ranges (no slot across 12:00)",
       [](Input& in) {
         in.schedule = Schedule{"Europe/Madrid", {Rule{{1, 2, 3, 4, 5}, hm("09:00"), hm("12:00")},
                                                  Rule{{1, 2, 3, 4, 5}, hm("12:00"), hm("17:00")}}, {}};
         in.event.slot_interval_min = 30;
       },
       {"2026-03-10"}, cat(every("2026-03-10", "+01:00", "09:00", "11:00", 30),
                           every("2026-03-10", "+01:00", "12:00", "16:00", 30))},
      {"only the first slot per day",
       [](Input& in) {
         in.event.only_first_slot_per_day = true;
         in.busy = {booking("2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z", k_other)};
         in.query = days_query("2026-03-10", "2026-03-11", "Europe/Madrid");
       },
       {"2026-03-10", "2026-03-11"}, {"2026-03-10T10:00:00.000+01:00", "2026-03-11T09:00:00.000+01:00"}},
  });
  // Slot ends are start + length (format=range).
  Input in;
  auto r = compute(in.schedule, in.event, in.busy, in.holds, in.query);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(format_iso(r->at(0).slots.at(0).end, "Europe/Madrid") == "2026-03-10T10:00:00.000+01:00");
  in.query.duration_min = 30;
  r = compute(in.schedule, in.event, in.busy, in.holds, in.query);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(format_iso(r->at(0).slots.at(0).end, "Europe/Madrid") == "2026-03-10T09:30:00.000+01:00");
}

BOOST_AUTO_TEST_CASE(buffers_exactly_touching_a_booking) {
  // This event: 15 before / 15 after. Existing booking 12:00-13:00 Madrid of another
  // type without buffers -> busy 11:45-13:15.
  Input in;
  in.event.before_buffer_min = in.event.after_buffer_min = 15;
  in.event.slot_interval_min = 15;
  in.busy = {booking("2026-03-10T11:00:00Z", "2026-03-10T12:00:00Z", k_other)};
  const Output o = run(in);
  BOOST_TEST(o.starts == cat(every("2026-03-10", "+01:00", "09:00", "10:45", 15),
                             every("2026-03-10", "+01:00", "13:15", "16:00", 15)),
             tt::per_element());

  struct C {
    const char* name;
    const char* start;
    int own_before, own_after;
    const char* expect;
  };
  const C cases[] = {
      {"ends where the after buffer touches the booking", "2026-03-10T10:45:00+01:00", 0, 0, "ok"},
      {"one minute into the buffer", "2026-03-10T10:46:00+01:00", 0, 0, "not_available"},
      {"starts where the before buffer touches the booking end", "2026-03-10T13:15:00+01:00", 0, 0, "ok"},
      {"one minute early", "2026-03-10T13:14:00+01:00", 0, 0, "not_available"},
      {"booking's own before buffer adds to ours (10+15)", "2026-03-10T10:35:00+01:00", 10, 5, "ok"},
      {"... one minute over", "2026-03-10T10:36:00+01:00", 10, 5, "not_available"},
      {"booking's own after buffer adds to ours (5+15)", "2026-03-10T13:20:00+01:00", 10, 5, "ok"},
      {"... one minute over", "2026-03-10T13:19:00+01:00", 10, 5, "not_available"},
  };
  for (const C& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::vector<Busy> busy = {
          booking("2026-03-10T11:00:00Z", "2026-03-10T12:00:00Z", k_other, c.own_before, c.own_after)};
      BOOST_TEST(code_of(check_bookable(in.schedule, in.event, busy, at(c.start), 0, at(k_long_ago))) == c.expect);
    }
  }
}

BOOST_AUTO_TEST_CASE(reschedule_ignores_its_own_booking) {
  run_table({
      {"without reschedule the booking blocks 10:00",
       [](Input& in) { in.busy = {booking("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z", k_type, 0, 0, "bk_1")}; },
       {"2026-03-10"}, local("2026-03-10", "+01:00", {"09:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"})},
      {"rescheduling bk_1 frees its time",
       [](Input& in) {
         in.busy = {booking("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z", k_type, 0, 0, "bk_1")};
         in.query.reschedule_uid = "bk_1";
       },
       {"2026-03-10"}, local("2026-03-10", "+01:00", k_nine_to_four)},
      {"rescheduling bk_1 does not count it toward the day limit",
       [](Input& in) {
         in.event.limit_per_day = 1;
         in.busy = {booking("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z", k_type, 0, 0, "bk_1")};
         in.query.reschedule_uid = "bk_1";
       },
       {"2026-03-10"}, local("2026-03-10", "+01:00", k_nine_to_four)},
  });
  const Input in;
  const std::vector<Busy> busy = {booking("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z", k_type, 0, 0, "bk_1")};
  BOOST_TEST(code_of(check_bookable(in.schedule, in.event, busy, at("2026-03-10T09:30:00Z"), 0, at(k_long_ago))) ==
             "not_available");
  BOOST_TEST(code_of(check_bookable(in.schedule, in.event, busy, at("2026-03-10T09:30:00Z"), 0, at(k_long_ago), "bk_1")) ==
             "ok");
}

BOOST_AUTO_TEST_CASE(holds_hide_overlapping_slots) {
  run_table({
      {"a 5-minute hold inside 10:00-11:00",
       [](Input& in) { in.holds = {Hold{at("2026-03-10T10:30:00+01:00"), at("2026-03-10T10:35:00+01:00")}}; },
       {"2026-03-10"}, local("2026-03-10", "+01:00", {"09:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"})},
      {"a hold of exactly 11:00-12:00 leaves the touching slots",
       [](Input& in) { in.holds = {Hold{at("2026-03-10T11:00:00+01:00"), at("2026-03-10T12:00:00+01:00")}}; },
       {"2026-03-10"}, local("2026-03-10", "+01:00", {"09:00", "10:00", "12:00", "13:00", "14:00", "15:00", "16:00"})},
      {"a hold straddling two slots hides both",
       [](Input& in) { in.holds = {Hold{at("2026-03-10T13:59:00+01:00"), at("2026-03-10T14:01:00+01:00")}}; },
       {"2026-03-10"}, local("2026-03-10", "+01:00", {"09:00", "10:00", "11:00", "12:00", "15:00", "16:00"})},
  });
}

BOOST_AUTO_TEST_CASE(booking_limits_by_period) {
  run_table({
      {"week limit 2 reached Mon+Tue blocks Sun 03-08 .. Sat 03-14",
       [](Input& in) {
         in.event.limit_per_week = 2;
         in.busy = {booking("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z", k_type),
                    booking("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z", k_type)};
         in.query = days_query("2026-03-06", "2026-03-16", "Europe/Madrid");
       },
       {"2026-03-06", "2026-03-16"},
       cat(local("2026-03-06", "+01:00", k_nine_to_four), local("2026-03-16", "+01:00", k_nine_to_four))},
      {"weeks start on Sunday: a Sunday booking fills the following week",
       [](Input& in) {
         in.event.limit_per_week = 1;
         in.busy = {booking("2026-03-15T09:00:00Z", "2026-03-15T10:00:00Z", k_type)};
         in.query = days_query("2026-03-13", "2026-03-16", "Europe/Madrid");
       },
       {"2026-03-13"}, local("2026-03-13", "+01:00", k_nine_to_four)},
      {"week limit not reached by other event types",
       [](Input& in) {
         in.event.limit_per_week = 1;
         in.busy = {booking("2026-03-15T09:00:00Z", "2026-03-15T10:00:00Z", k_other)};
         in.query = days_query("2026-03-13", "2026-03-16", "Europe/Madrid");
       },
       {"2026-03-13", "2026-03-16"},
       cat(local("2026-03-13", "+01:00", k_nine_to_four), local("2026-03-16", "+01:00", k_nine_to_four))},
      {"month limit in the schedule's zone",
       [](Input& in) {
         in.event.limit_per_month = 1;
         in.busy = {booking("2026-03-31T08:00:00Z", "2026-03-31T09:00:00Z", k_type)};
         in.query = days_query("2026-03-31", "2026-04-01", "Europe/Madrid");
       },
       {"2026-04-01"}, local("2026-04-01", "+02:00", k_nine_to_four)},
      {"year limit",
       [](Input& in) {
         in.event.limit_per_year = 1;
         in.busy = {booking("2026-12-31T08:00:00Z", "2026-12-31T09:00:00Z", k_type)};
         in.query = days_query("2026-12-31", "2027-01-01", "Europe/Madrid");
       },
       {"2027-01-01"}, local("2027-01-01", "+01:00", k_nine_to_four)},
  });
}

BOOST_AUTO_TEST_CASE(booking_window_drops_later_dates) {
  run_table({
      {"2 calendar days from Monday 09:00 keeps Mon..Wed",
       [](Input& in) {
         in.event.booking_window_days = 2;
         in.query = days_query("2026-03-09", "2026-03-13", "Europe/Madrid");
         in.query.now = at("2026-03-09T09:00:00+01:00");
       },
       {"2026-03-09", "2026-03-10", "2026-03-11"},
       cat(cat(local("2026-03-09", "+01:00", {"10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"}),
               local("2026-03-10", "+01:00", k_nine_to_four)),
           local("2026-03-11", "+01:00", k_nine_to_four))},
  });
  const Input in;
  EventRules ev = in.event;
  ev.booking_window_days = 2;
  const Instant now = at("2026-03-09T09:00:00+01:00");
  BOOST_TEST(code_of(check_bookable(in.schedule, ev, {}, at("2026-03-11T16:00:00+01:00"), 0, now)) == "ok");
  BOOST_TEST(code_of(check_bookable(in.schedule, ev, {}, at("2026-03-12T09:00:00+01:00"), 0, now)) == "outside_window");
}

/* ---- booking check ---------------------------------------------------- */

BOOST_AUTO_TEST_CASE(check_bookable_cases) {
  const Schedule split{"Europe/Madrid", {Rule{{1, 2, 3, 4, 5}, hm("09:00"), hm("12:00")},
                                         Rule{{1, 2, 3, 4, 5}, hm("12:00"), hm("17:00")}}, {}};
  EventRules buffered = hour_event();
  buffered.before_buffer_min = buffered.after_buffer_min = 15;
  EventRules noticed = hour_event();
  noticed.minimum_notice_min = 120;
  EventRules limited = hour_event();
  limited.limit_per_day = 1;
  Schedule day_off = weekdays("Europe/Madrid");
  day_off.overrides = {Override{"2026-03-10", 0, 0}};
  const std::vector<Busy> c_busy = {booking("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", k_type, 15, 15)};
  const std::vector<Busy> one_today = {booking("2026-03-10T15:00:00Z", "2026-03-10T16:00:00Z", k_type)};

  struct C {
    const char* name;
    Schedule schedule;
    EventRules event;
    std::vector<Busy> busy;
    const char* start;
    int duration;
    const char* now;
    const char* expect;
  };
  const std::vector<C> cases = {
      {"inside a range", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-10T10:00:00+01:00", 0, k_long_ago, "ok"},
      {"not a slot start but inside", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-10T10:10:00+01:00", 0,
       k_long_ago, "ok"},
      {"ends exactly at the range end", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-10T16:00:00+01:00", 0,
       k_long_ago, "ok"},
      {"runs past the range end", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-10T16:30:00+01:00", 0,
       k_long_ago, "not_available"},
      {"weekend", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-14T10:00:00+01:00", 0, k_long_ago,
       "not_available"},
      {"straddling two touching ranges", split, hour_event(), {}, "2026-03-10T11:30:00+01:00", 0, k_long_ago,
       "not_available"},
      {"ending where the first range ends", split, hour_event(), {}, "2026-03-10T11:00:00+01:00", 0, k_long_ago, "ok"},
      {"too soon for the notice", weekdays("Europe/Madrid"), noticed, {}, "2026-03-10T11:00:00+01:00", 0,
       "2026-03-10T09:20:00+01:00", "too_soon"},
      {"exactly at now + notice", weekdays("Europe/Madrid"), noticed, {}, "2026-03-10T11:20:00+01:00", 0,
       "2026-03-10T09:20:00+01:00", "ok"},
      {"in the past", weekdays("Europe/Madrid"), hour_event(), {}, "2026-03-10T10:00:00+01:00", 0,
       "2026-03-10T12:00:00+01:00", "too_soon"},
      {"overlapping buffered busy time", weekdays("Europe/Madrid"), buffered, c_busy, "2026-03-10T12:00:00+01:00", 0,
       k_long_ago, "not_available"},
      {"after buffered busy time", weekdays("Europe/Madrid"), buffered, c_busy, "2026-03-10T12:30:00+01:00", 0,
       k_long_ago, "ok"},
      {"before buffered busy time", weekdays("Europe/Madrid"), buffered, c_busy, "2026-03-10T09:30:00+01:00", 0,
       k_long_ago, "ok"},
      {"shorter duration fits before buffered busy time", weekdays("Europe/Madrid"), buffered, c_busy,
       "2026-03-10T10:00:00+01:00", 30, k_long_ago, "ok"},
      {"day limit reached", weekdays("Europe/Madrid"), limited, one_today, "2026-03-10T10:00:00+01:00", 0, k_long_ago,
       "not_available"},
      {"day limit not reached next day", weekdays("Europe/Madrid"), limited, one_today, "2026-03-11T10:00:00+01:00", 0,
       k_long_ago, "ok"},
      {"day off override", day_off, hour_event(), {}, "2026-03-10T10:00:00+01:00", 0, k_long_ago, "not_available"},
  };
  for (const C& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const Status s = check_bookable(c.schedule, c.event, c.busy, at(c.start), c.duration, at(c.now));
      BOOST_TEST(code_of(s) == c.expect);
      if (!s.ok()) BOOST_TEST(s.error().http_status == 400);
    }
  }
}

/* ---- errors ----------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(compute_rejects_bad_input) {
  struct C {
    const char* name;
    std::function<void(Input&)> setup;
    const char* code;
  };
  const std::vector<C> cases = {
      {"unknown schedule zone", [](Input& in) { in.schedule.time_zone = "Mars/Olympus_Mons"; }, "invalid_time_zone"},
      {"unknown view zone", [](Input& in) { in.query.view_zone = "Europe/Atlantis"; }, "invalid_time_zone"},
      {"end before start", [](Input& in) { std::swap(in.query.start, in.query.end); }, "invalid_window"},
      {"63-day window", [](Input& in) { in.query.end = in.query.start + std::chrono::hours{63 * 24}; }, "invalid_window"},
      {"zero length", [](Input& in) { in.event.length_min = 0; }, "invalid_event"},
      {"negative duration", [](Input& in) { in.query.duration_min = -30; }, "invalid_event"},
      {"32-day event", [](Input& in) { in.event.length_min = 32 * 24 * 60; }, "invalid_event"},
      {"negative buffer", [](Input& in) { in.event.before_buffer_min = -5; }, "invalid_event"},
      {"rule end before start", [](Input& in) { in.schedule.rules[0].end_min = 60; }, "invalid_schedule"},
      {"bad override date", [](Input& in) { in.schedule.overrides = {Override{"2026-02-30", 0, 0}}; },
       "invalid_schedule"},
  };
  for (const C& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Input in;
      c.setup(in);
      auto r = compute(in.schedule, in.event, in.busy, in.holds, in.query);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == c.code);
      BOOST_TEST(r.error().http_status == 400);
    }
  }
  Input in;
  in.query.end = in.query.start + std::chrono::hours{62 * 24};
  BOOST_TEST(compute(in.schedule, in.event, in.busy, in.holds, in.query).ok());
  BOOST_TEST(code_of(check_bookable(Schedule{"Nowhere/Land", {}, {}}, hour_event(), {}, at("2026-03-10T10:00:00Z"), 0,
                                    at(k_long_ago))) == "invalid_time_zone");
  // A window entirely before now + notice is simply empty.
  in.query.now = at("2026-06-01T00:00:00Z");
  auto r = compute(in.schedule, in.event, in.busy, in.holds, in.query);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->empty());
}

/* ---- Cal.com schedule JSON --------------------------------------------- */

namespace {
Json::Value parse_json(const std::string& text) {
  Json::Value v;
  Json::CharReaderBuilder b;
  std::string errs;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  if (!r->parse(text.data(), text.data() + text.size(), &v, &errs)) throw std::runtime_error("bad test json: " + errs);
  return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(schedule_json_parses_and_round_trips) {
  const auto v = parse_json(R"({"name":"Coaching hours","timeZone":"Europe/Madrid","isDefault":true,
    "availability":[{"days":["Monday","Tuesday"],"startTime":"09:00","endTime":"13:00"},
                    {"days":["Tuesday"],"startTime":"13:00","endTime":"23:59"}],
    "overrides":[{"date":"2026-03-11","startTime":"14:00","endTime":"18:00"},
                 {"date":"2026-03-11","startTime":"18:00","endTime":"19:00"},
                 {"date":"2026-04-03","startTime":"00:00","endTime":"00:00"}]})");
  auto r = schedule_from_calcom_json(v);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  BOOST_TEST(r->time_zone == "Europe/Madrid");
  BOOST_REQUIRE(r->rules.size() == 2u);
  BOOST_TEST(r->rules[0].weekdays == (std::vector<int>{1, 2}), tt::per_element());
  BOOST_TEST(r->rules[0].start_min == 540);
  BOOST_TEST(r->rules[0].end_min == 780);
  BOOST_TEST(r->rules[1].end_min == 1440);  // 23:59 = midnight
  BOOST_REQUIRE(r->overrides.size() == 3u);
  BOOST_TEST(r->overrides[2].date == "2026-04-03");
  BOOST_TEST(r->overrides[2].start_min == r->overrides[2].end_min);

  const Json::Value out = availability_to_calcom_json(*r);
  BOOST_TEST(out["timeZone"].asString() == "Europe/Madrid");
  BOOST_TEST(out["availability"] == v["availability"]);
  BOOST_TEST(out["overrides"] == v["overrides"]);
  auto again = schedule_from_calcom_json(out);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->rules[1].end_min == 1440);

  // Availability omitted: Cal.com's default Mon-Fri 09:00-17:00.
  auto d = schedule_from_calcom_json(parse_json(R"({"timeZone":"America/New_York"})"));
  BOOST_REQUIRE(d.ok());
  BOOST_REQUIRE(d->rules.size() == 1u);
  BOOST_TEST(d->rules[0].weekdays == (std::vector<int>{1, 2, 3, 4, 5}), tt::per_element());
  BOOST_TEST(d->rules[0].start_min == 540);
  BOOST_TEST(d->rules[0].end_min == 1020);
  BOOST_TEST(d->overrides.empty());

  // Parsed schedules drive compute(): the two 03-11 overrides (14-18, 18-19)
  // replace Wednesday's rules; 03-12 has none of them (Thursday is not in a rule).
  Input in;
  in.schedule = *r;
  in.query = days_query("2026-03-11", "2026-03-12", "Europe/Madrid");
  BOOST_TEST(run(in).starts == local("2026-03-11", "+01:00", {"14:00", "15:00", "16:00", "17:00", "18:00"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(schedule_json_validation_names_the_field) {
  struct C {
    const char* name;
    const char* json;
    const char* message;
  };
  const std::vector<C> cases = {
      {"unknown zone", R"({"timeZone":"Mars/Olympus_Mons","availability":[]})",
       "timeZone: unknown time zone \"Mars/Olympus_Mons\""},
      {"missing zone", R"({"availability":[]})", "timeZone: required"},
      {"not an object", R"([1,2])", "schedule: expected a JSON object"},
      {"availability not an array", R"({"timeZone":"UTC","availability":{"days":["Monday"]}})",
       "availability: expected an array"},
      {"bad day name", R"({"timeZone":"UTC","availability":[{"days":["Monday","Funday"],"startTime":"09:00","endTime":"17:00"}]})",
       "availability[0].days[1]: unknown day \"Funday\""},
      {"no days", R"({"timeZone":"UTC","availability":[{"days":[],"startTime":"09:00","endTime":"17:00"}]})",
       "availability[0].days: expected a non-empty array"},
      {"hour 25", R"({"timeZone":"UTC","availability":[{"days":["Monday"],"startTime":"25:00","endTime":"26:00"}]})",
       "availability[0].startTime: \"25:00\" is not a time HH:MM"},
      {"unpadded time", R"({"timeZone":"UTC","availability":[{"days":["Monday"],"startTime":"09:00","endTime":"9:30"}]})",
       "availability[0].endTime: \"9:30\" is not a time HH:MM"},
      {"missing time", R"({"timeZone":"UTC","availability":[{"days":["Monday"],"startTime":"09:00"}]})",
       "availability[0].endTime: value is not a time HH:MM"},
      {"end before start",
       R"({"timeZone":"UTC","availability":[{"days":["Monday"],"startTime":"08:00","endTime":"10:00"},{"days":["Monday"],"startTime":"17:00","endTime":"09:00"}]})",
       "availability[1].endTime: \"09:00\" is not after startTime \"17:00\""},
      {"overlapping rules on one day",
       R"({"timeZone":"UTC","availability":[{"days":["Monday","Tuesday"],"startTime":"09:00","endTime":"13:00"},{"days":["Tuesday"],"startTime":"12:00","endTime":"17:00"}]})",
       "availability[1]: overlaps availability[0] on Tuesday"},
      {"bad override date",
       R"({"timeZone":"UTC","availability":[],"overrides":[{"date":"2026-02-30","startTime":"09:00","endTime":"10:00"}]})",
       "overrides[0].date: \"2026-02-30\" is not a valid date YYYY-MM-DD"},
      {"override end before start",
       R"({"timeZone":"UTC","overrides":[{"date":"2026-03-11","startTime":"18:00","endTime":"14:00"}]})",
       "overrides[0].endTime: \"14:00\" is before startTime \"18:00\""},
      {"overlapping overrides on one date",
       R"({"timeZone":"UTC","overrides":[{"date":"2026-03-11","startTime":"09:00","endTime":"12:00"},{"date":"2026-03-12","startTime":"09:00","endTime":"12:00"},{"date":"2026-03-11","startTime":"11:00","endTime":"14:00"}]})",
       "overrides[2]: overlaps overrides[0] on 2026-03-11"},
  };
  for (const C& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto r = schedule_from_calcom_json(parse_json(c.json));
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == "invalid_schedule");
      BOOST_TEST(r.error().http_status == 400);
      BOOST_TEST(r.error().message.find(c.message) != std::string::npos, r.error().message);
    }
  }
}

/* ---- ISO times ---------------------------------------------------------- */

BOOST_AUTO_TEST_CASE(format_and_parse_iso_round_trip) {
  struct C {
    const char* utc;
    const char* zone;
    const char* text;
  };
  const C cases[] = {
      {"2026-03-10T08:00:00Z", "UTC", "2026-03-10T08:00:00.000Z"},
      {"2026-03-10T08:00:00Z", "Europe/Madrid", "2026-03-10T09:00:00.000+01:00"},
      {"2026-03-10T08:00:00Z", "Asia/Kolkata", "2026-03-10T13:30:00.000+05:30"},
      {"2026-07-01T23:30:00Z", "Asia/Kolkata", "2026-07-02T05:00:00.000+05:30"},
      {"2026-03-10T08:00:00Z", "Asia/Kathmandu", "2026-03-10T13:45:00.000+05:45"},
      {"2026-03-10T08:00:00Z", "America/New_York", "2026-03-10T04:00:00.000-04:00"},
      {"2026-03-10T08:00:00Z", "America/St_Johns", "2026-03-10T05:30:00.000-02:30"},
      {"2026-03-10T08:00:00Z", "Europe/London", "2026-03-10T08:00:00.000+00:00"},
      {"2026-03-10T23:15:07Z", "Australia/Sydney", "2026-03-11T10:15:07.000+11:00"},
  };
  for (const C& c : cases) {
    BOOST_TEST_CONTEXT(c.zone << " " << c.utc) {
      const Instant t = at(c.utc);
      BOOST_TEST(format_iso(t, c.zone) == c.text);
      auto back = parse_iso(c.text);
      BOOST_REQUIRE(back.ok());
      BOOST_TEST((*back == t));
    }
  }
  // Unknown zones format as UTC.
  BOOST_TEST(format_iso(at("2026-03-10T08:00:00Z"), "Nowhere/Land") == "2026-03-10T08:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(parse_iso_accepts_and_rejects) {
  const std::pair<const char*, const char*> good[] = {
      {"2026-03-10T14:00:00+05:30", "2026-03-10T08:30:00.000Z"},
      {"2026-03-10T08:00:00.000Z", "2026-03-10T08:00:00.000Z"},
      {"2026-03-10T08:00:00.999Z", "2026-03-10T08:00:00.000Z"},
      {"2026-03-10T08:00Z", "2026-03-10T08:00:00.000Z"},
      {"2026-03-10T03:00:00-0500", "2026-03-10T08:00:00.000Z"},
      {"2026-03-10T00:30:00+01:00", "2026-03-09T23:30:00.000Z"},
  };
  for (const auto& [in, want] : good) {
    BOOST_TEST_CONTEXT(in) {
      auto r = parse_iso(in);
      BOOST_REQUIRE(r.ok());
      BOOST_TEST(format_iso(*r, "UTC") == want);
    }
  }
  const char* bad[] = {"", "2026-03-10", "2026-03-10T08:00:00", "2026-02-30T08:00:00Z", "2026-03-10T24:00:00Z",
                       "2026-03-10 08:00:00Z", "2026-03-10T08:00:00+5:30", "2026-03-10T08:00:00Zjunk",
                       "2026-03-10T08:00:00.Z", "2026-03-10T08:60:00Z", "garbage-garbage-garbage"};
  for (const char* s : bad) {
    BOOST_TEST_CONTEXT("'" << s << "'") {
      auto r = parse_iso(s);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == "invalid_time");
      BOOST_TEST(r.error().http_status == 400);
    }
  }
}

BOOST_AUTO_TEST_CASE(zone_and_date_helpers) {
  BOOST_TEST(is_valid_zone("Europe/Madrid"));
  BOOST_TEST(is_valid_zone("UTC"));
  BOOST_TEST(!is_valid_zone("Mars/Base"));
  BOOST_TEST(!is_valid_zone(""));
  BOOST_TEST(local_date(at("2026-03-10T20:00:00Z"), "Australia/Sydney") == "2026-03-11");
  BOOST_TEST(local_date(at("2026-03-10T02:00:00Z"), "America/New_York") == "2026-03-09");
  BOOST_TEST(local_date(at("2026-03-10T20:00:00Z"), "Nowhere/Land") == "2026-03-10");
  BOOST_TEST(format_iso(*local_to_utc("2026-03-10", 1440, "Europe/Madrid"), "UTC") == "2026-03-10T23:00:00.000Z");
  BOOST_TEST(local_to_utc("2026-03-10", 540, "Mars/Base").error().code == "invalid_time_zone");
  BOOST_TEST(local_to_utc("2026-13-01", 540, "UTC").error().code == "invalid_date");
  BOOST_TEST(local_to_utc("2026-03-10", 1441, "UTC").error().code == "invalid_time");
}
