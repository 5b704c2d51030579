/* test_it_calendar_pages.cpp: the server-rendered calendar pages through nginx
 * (a new coach per case, onboarded through the API, then driven like a browser:
 * __session cookie, csrf_token scraped from the page, urlencoded forms):
 * /cal-availability-test, /cal-event-types-test, /coach/calendar and the public
 * /coaches/{id}. Covers the happy paths, bad input (400 pages that keep what
 * was typed), roles (403), CSRF (403) and unknown coaches (404). */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE calendar_pages
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <tuple>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {


/* YYYY-MM-DD of a Tuesday, Wednesday or Thursday at least min_days ahead (UTC),
 * so it and the day after are weekdays everywhere between London and Kolkata. */
std::string future_midweek(int min_days) {
  std::time_t t = std::time(nullptr) + int64_t(min_days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  while (tm.tm_wday < 2 || tm.tm_wday > 4) {
    t += 86400;
    gmtime_r(&t, &tm);
  }
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return out;
}

bool has(const std::string& body, const std::string& needle) { return body.find(needle) != std::string::npos; }

/* data-slots of the week-view row of one date; -1 when the row is missing. */
int slots_on(const std::string& body, const std::string& date) {
  std::string key = "id=\"day-" + date + "\" data-date=\"" + date + "\" data-slots=\"";
  size_t p = body.find(key);
  if (p == std::string::npos) return -1;
  return std::atoi(body.c_str() + p + key.size());
}

struct Coach {
  int64_t id = 0;
  std::string token, csrf;
  Headers bearer, cookie, post;
};

struct Fx {
  db::Db db{db::settings_from(cfg())};

  /* A coach with an active Cal.com managed user and a CSRF token for forms. */
  Coach new_coach(const std::string& tz = "Europe/London") {
    Coach c;
    c.id = create_user(db, "coach", tz);
    c.token = clerk_token(clerk_id_of(db, c.id));
    c.bearer = {{"Authorization", "Bearer " + c.token}};
    Headers json = c.bearer;
    json.emplace_back("Content-Type", "application/json");
    auto r = http("POST", base_url() + "/api/cal/coaches/onboard", json, "{}");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    c.cookie = {{"Cookie", "__session=" + c.token}};
    c.post = c.cookie;
    c.post.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    auto page = http("GET", base_url() + "/cal-availability-test", c.cookie);
    BOOST_TEST_REQUIRE(page.status == 200, page.body.substr(0, 400));
    auto pos = page.body.find("name=\"csrf_token\" value=\"");
    BOOST_TEST_REQUIRE(pos != std::string::npos);
    c.csrf = page.body.substr(pos + 25, 64);
    return c;
  }

  Http post(const Coach& c, const std::string& path, std::vector<std::pair<std::string, std::string>> fields) {
    fields.emplace_back("csrf_token", c.csrf);
    return http("POST", base_url() + path, c.post, form(fields));
  }

  Json::Value schedules(const Coach& c) {
    auto r = http("GET", base_url() + "/api/cal/availability/schedules", c.bearer);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["data"];
  }

  Json::Value event_types(const Coach& c) {
    auto r = http("GET", base_url() + "/api/cal/event-types/mine", c.bearer);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["data"];
  }

  /* Creates a schedule through the page form; returns its Cal.com id. */
  int64_t create_schedule(const Coach& c, const std::string& name, const std::string& tz, bool is_default,
                          const std::string& path = "/cal-availability-test") {
    std::vector<std::pair<std::string, std::string>> f = {{"action", "create_schedule"}, {"name", name}, {"time_zone", tz}};
    if (is_default) f.emplace_back("is_default", "1");
    auto r = post(c, path, f);
    BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 2000));
    for (const auto& s : schedules(c))
      if (s["name"].asString() == name) return s["id"].asInt64();
    BOOST_FAIL("schedule " + name + " not in the mirror");
    return 0;
  }

  /* Creates a session type through the page form; returns its Cal.com id. */
  int64_t create_type(const Coach& c, const std::string& slug, std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> f = {
        {"action", "create"}, {"title", "Session " + slug}, {"slug", slug}, {"length", "30"}, {"location", "cal-video"}};
    for (auto& e : extra) {
      auto it = std::find_if(f.begin(), f.end(), [&](const auto& x) { return x.first == e.first; });
      if (it != f.end()) it->second = e.second;
      else f.push_back(e);
    }
    auto r = post(c, "/cal-event-types-test", f);
    BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 3000));
    for (const auto& e : event_types(c))
      if (e["slug"].asString() == slug) return e["id"].asInt64();
    BOOST_FAIL("session type " + slug + " not in the mirror");
    return 0;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(schedule_created_through_the_form_is_listed, Fx) {
  Coach c = new_coach();
  int64_t sid = create_schedule(c, "Weekday hours", "America/New_York", true);
  auto page = http("GET", base_url() + "/cal-availability-test", c.cookie);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(has(page.body, "id=\"schedule-" + std::to_string(sid) + "\""));
  BOOST_TEST(has(page.body, "Weekday hours"));
  BOOST_TEST(has(page.body, "<strong>America/New_York</strong>"));
  BOOST_TEST(has(page.body, "09:00–17:00"));  // Cal.com's default hours
  // The Sync button pulls the same schedule back from Cal.com.
  auto sync = post(c, "/cal-availability-test", {{"action", "sync"}});
  BOOST_TEST(sync.status == 200, sync.body.substr(0, 1000));
  BOOST_TEST(has(sync.body, "Synced from Cal.com"));
  BOOST_TEST(has(sync.body, "Weekday hours"));
  BOOST_TEST(has(sync.body, "GET "));  // the raw exchange is shown
}

BOOST_FIXTURE_TEST_CASE(replacing_the_weekly_rules_is_reflected, Fx) {
  Coach c = new_coach();
  int64_t sid = create_schedule(c, "Split days", "Europe/London", true);
  auto r = post(c, "/cal-availability-test",
                {{"action", "replace_rules"}, {"schedule_id", std::to_string(sid)},
                 {"mon_start1", "10:00"}, {"mon_end1", "12:00"}, {"mon_start2", "13:00"}, {"mon_end2", "15:00"},
                 {"wed_start1", "08:30"}, {"wed_end1", "11:30"}});
  BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 2000));
  BOOST_TEST(has(r.body, "Weekly hours of “Split days” saved"));
  BOOST_TEST(has(r.body, "10:00–12:00, 13:00–15:00"));
  BOOST_TEST(has(r.body, "08:30–11:30"));
  Json::Value av;
  for (const auto& s : schedules(c))
    if (s["id"].asInt64() == sid) av = s["availability"];
  BOOST_TEST_REQUIRE(av.size() == 3u, av.toStyledString());
  std::set<std::string> seen;
  for (const auto& rule : av)
    for (const auto& d : rule["days"]) seen.insert(d.asString() + " " + rule["startTime"].asString() + "-" + rule["endTime"].asString());
  BOOST_TEST(seen.count("Monday 10:00-12:00") == 1u);
  BOOST_TEST(seen.count("Monday 13:00-15:00") == 1u);
  BOOST_TEST(seen.count("Wednesday 08:30-11:30") == 1u);
  BOOST_TEST(seen.size() == 3u);  // Tuesday, Thursday ... are days off now
}

BOOST_FIXTURE_TEST_CASE(day_off_override_empties_that_day_of_the_week_view, Fx) {
  Coach c = new_coach();
  int64_t sid = create_schedule(c, "Office hours", "Europe/London", true);
  int64_t et = create_type(c, "intro-30", {{"schedule_id", std::to_string(sid)}});
  const std::string day = future_midweek(9), next = add_days(day, 1);
  const std::string view = base_url() + "/cal-availability-test?event_type=" + std::to_string(et) +
                           "&tz=Europe%2FLondon&week=" + day;
  auto before = http("GET", view, c.cookie);
  BOOST_TEST_REQUIRE(before.status == 200, before.body.substr(0, 2000));
  BOOST_TEST_REQUIRE(has(before.body, "id=\"slot-source\""), before.body);
  BOOST_TEST(slots_on(before.body, day) == 16);  // 09:00-17:00, 30 minutes
  BOOST_TEST(slots_on(before.body, next) == 16);

  auto add = post(c, "/cal-availability-test",
                  {{"action", "add_override"}, {"schedule_id", std::to_string(sid)}, {"date", day}, {"day_off", "1"}});
  BOOST_TEST_REQUIRE(add.status == 200, add.body.substr(0, 2000));
  BOOST_TEST(has(add.body, "Exception on " + day));
  BOOST_TEST(has(add.body, "Whole day off"));

  auto after = http("GET", view, c.cookie);
  BOOST_TEST_REQUIRE(after.status == 200);
  BOOST_TEST(slots_on(after.body, day) == 0);
  BOOST_TEST(slots_on(after.body, next) == 16);

  // Removing the exception brings the day back.
  auto rm = post(c, "/cal-availability-test",
                 {{"action", "remove_override"}, {"schedule_id", std::to_string(sid)}, {"date", day}, {"start", "00:00"}, {"end", "00:00"}});
  BOOST_TEST_REQUIRE(rm.status == 200, rm.body.substr(0, 2000));
  BOOST_TEST(slots_on(http("GET", view, c.cookie).body, day) == 16);
}

BOOST_FIXTURE_TEST_CASE(partial_override_and_second_schedule_default_and_delete, Fx) {
  Coach c = new_coach();
  int64_t first = create_schedule(c, "Main", "Europe/London", true);
  int64_t second = create_schedule(c, "Summer", "Europe/Madrid", false);
  const std::string day = future_midweek(12);
  auto add = post(c, "/cal-availability-test",
                  {{"action", "add_override"}, {"schedule_id", std::to_string(first)}, {"date", day}, {"start", "14:00"}, {"end", "18:00"}});
  BOOST_TEST_REQUIRE(add.status == 200, add.body.substr(0, 2000));
  BOOST_TEST(has(add.body, "14:00–18:00"));
  auto overlap = post(c, "/cal-availability-test",
                      {{"action", "add_override"}, {"schedule_id", std::to_string(first)}, {"date", day}, {"start", "15:00"}, {"end", "16:00"}});
  BOOST_TEST(overlap.status == 400);
  BOOST_TEST(has(overlap.body, "overlaps the exception 14:00–18:00"), overlap.body.substr(0, 3000));
  BOOST_TEST(has(overlap.body, "value=\"15:00\""));
  auto second_range = post(c, "/cal-availability-test",
                           {{"action", "add_override"}, {"schedule_id", std::to_string(first)}, {"date", day}, {"start", "08:00"}, {"end", "10:00"}});
  BOOST_TEST(second_range.status == 200, second_range.body.substr(0, 2000));
  BOOST_TEST(has(second_range.body, "08:00–10:00"));
  // The default schedule cannot be deleted: 409 with the page kept.
  auto del_default = post(c, "/cal-availability-test", {{"action", "delete_schedule"}, {"schedule_id", std::to_string(first)}});
  BOOST_TEST(del_default.status == 409);
  BOOST_TEST(has(del_default.body, "cannot be deleted"));
  BOOST_TEST(has(del_default.body, "class=\"topbar\""));
  auto make_default = post(c, "/cal-availability-test", {{"action", "make_default"}, {"schedule_id", std::to_string(second)}});
  BOOST_TEST_REQUIRE(make_default.status == 200, make_default.body.substr(0, 2000));
  BOOST_TEST(has(make_default.body, "“Summer” is now the default schedule"));
  auto del = post(c, "/cal-availability-test", {{"action", "delete_schedule"}, {"schedule_id", std::to_string(first)}});
  BOOST_TEST_REQUIRE(del.status == 200, del.body.substr(0, 2000));
  BOOST_TEST(!has(del.body, "id=\"schedule-" + std::to_string(first) + "\""));
  BOOST_TEST(schedules(c).size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(prices_are_stored_exactly_in_minor_units, Fx) {
  Coach c = new_coach();
  int64_t usd = create_type(c, "strategy-60", {{"length", "60"}, {"price", "75.00"}, {"currency", "USD"},
                                               {"before_buffer", "10"}, {"after_buffer", "5"}, {"min_notice", "120"},
                                               {"slot_interval", "30"}, {"q_label", "What do you want to work on?"},
                                               {"q_slug", "goal"}, {"q_type", "textarea"}, {"q_required", "1"}});
  int64_t jpy = create_type(c, "tokyo-call", {{"price", "5000"}, {"currency", "JPY"}, {"refund_policy", "48h:100, 6h:25"}});
  int64_t odd = create_type(c, "small-fee", {{"price", "0.10"}, {"currency", "GBP"}, {"hidden", "1"}});
  std::map<int64_t, Json::Value> by_id;
  for (const auto& e : event_types(c)) by_id[e["id"].asInt64()] = e;
  BOOST_TEST(by_id[usd]["priceMinor"].asInt64() == 7500);
  BOOST_TEST(by_id[usd]["currency"].asString() == "USD");
  BOOST_TEST(by_id[usd]["beforeEventBuffer"].asInt() == 10);
  BOOST_TEST(by_id[usd]["minimumBookingNotice"].asInt() == 120);
  BOOST_TEST(by_id[usd]["slotInterval"].asInt() == 30);
  BOOST_TEST(by_id[usd]["bookingFields"].size() == 1u);
  BOOST_TEST(by_id[usd]["bookingFields"][0]["slug"].asString() == "goal");
  BOOST_TEST(by_id[jpy]["priceMinor"].asInt64() == 5000);
  BOOST_TEST(by_id[jpy]["currency"].asString() == "JPY");
  BOOST_TEST(by_id[jpy]["refundPolicy"].asString() == "48h:100,6h:25");
  BOOST_TEST(by_id[usd]["refundPolicy"].isNull());  // empty: the platform's
  BOOST_TEST(by_id[odd]["priceMinor"].asInt64() == 10);
  BOOST_TEST(by_id[odd]["hidden"].asBool());
  auto page = http("GET", base_url() + "/cal-event-types-test", c.cookie);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(has(page.body, "75.00 USD"));
  BOOST_TEST(has(page.body, "7500 minor units"));
  BOOST_TEST(has(page.body, "5000 JPY"));
  BOOST_TEST(has(page.body, "value=\"75.00\""));  // the edit form is prefilled
  BOOST_TEST(has(page.body, "refunds 48h:100,6h:25"));

  // Edit: new price and title; the slug stays.
  auto r = post(c, "/cal-event-types-test",
                {{"action", "update"}, {"event_type_id", std::to_string(usd)}, {"title", "Strategy session"},
                 {"slug", "strategy-60"}, {"length", "60"}, {"location", "cal-video"}, {"price", "99.5"}, {"currency", "EUR"}});
  BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 2000));
  for (const auto& e : event_types(c))
    if (e["id"].asInt64() == usd) {
      BOOST_TEST(e["title"].asString() == "Strategy session");
      BOOST_TEST(e["priceMinor"].asInt64() == 9950);
      BOOST_TEST(e["currency"].asString() == "EUR");
    }
  // Delete.
  auto d = post(c, "/cal-event-types-test", {{"action", "delete"}, {"event_type_id", std::to_string(jpy)}});
  BOOST_TEST_REQUIRE(d.status == 200, d.body.substr(0, 2000));
  BOOST_TEST(event_types(c).size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(bad_input_gets_a_400_page_that_keeps_the_values, Fx) {
  Coach c = new_coach();
  int64_t sid = create_schedule(c, "Hours", "Europe/London", true);

  auto rules = post(c, "/cal-availability-test",
                    {{"action", "replace_rules"}, {"schedule_id", std::to_string(sid)}, {"mon_start1", "17:00"}, {"mon_end1", "09:00"}});
  BOOST_TEST(rules.status == 400);
  BOOST_TEST(has(rules.body, "Monday: the end (09:00) must be after the start (17:00)"), rules.body.substr(0, 3000));
  BOOST_TEST(has(rules.body, "name=\"mon_start1\" value=\"17:00\""));  // kept
  BOOST_TEST(has(rules.body, "class=\"topbar\""));

  auto half = post(c, "/cal-availability-test",
                   {{"action", "replace_rules"}, {"schedule_id", std::to_string(sid)}, {"tue_start1", "9am"}, {"tue_end1", "17:00"}});
  BOOST_TEST(half.status == 400);
  BOOST_TEST(has(half.body, "Tuesday"));

  auto zone = post(c, "/cal-availability-test", {{"action", "create_schedule"}, {"name", "Moon base"}, {"time_zone", "Mars/Olympus"}});
  BOOST_TEST(zone.status == 400);
  BOOST_TEST(has(zone.body, "Unknown time zone"));
  BOOST_TEST(has(zone.body, "Mars/Olympus"));
  BOOST_TEST(has(zone.body, "value=\"Moon base\""));

  auto ov = post(c, "/cal-availability-test",
                 {{"action", "add_override"}, {"schedule_id", std::to_string(sid)}, {"date", "2026-02-30"}, {"day_off", "1"}});
  BOOST_TEST(ov.status == 400);
  BOOST_TEST(has(ov.body, "is not a date"));

  auto slug = post(c, "/cal-event-types-test",
                   {{"action", "create"}, {"title", "Bad slug"}, {"slug", "my slug"}, {"length", "30"}, {"location", "cal-video"}});
  BOOST_TEST(slug.status == 400);
  BOOST_TEST(has(slug.body, "lower-case letters"), slug.body.substr(0, 3000));
  BOOST_TEST(has(slug.body, "value=\"my slug\""));

  for (const auto& [price, cur, msg] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"12.345", "USD", "more than 2 decimals"}, {"5000.5", "JPY", "no minor unit"}, {"-5", "USD", "is not an amount"},
           {"1e3", "USD", "is not an amount"}, {"75,00", "EUR", "is not an amount"}, {"99999999999", "USD", "too large"}}) {
    auto r = post(c, "/cal-event-types-test",
                  {{"action", "create"}, {"title", "Priced"}, {"slug", "priced"}, {"length", "30"}, {"location", "cal-video"},
                   {"price", price}, {"currency", cur}});
    BOOST_TEST(r.status == 400, price);
    BOOST_TEST(has(r.body, msg), price + ": " + r.body.substr(0, 2000));
    BOOST_TEST(has(r.body, "value=\"" + price + "\""), price);
  }
  auto policy = post(c, "/cal-event-types-test",
                     {{"action", "create"}, {"title", "Priced"}, {"slug", "priced"}, {"length", "30"},
                      {"location", "cal-video"}, {"price", "10.00"}, {"refund_policy", "24h:150"}});
  BOOST_TEST(policy.status == 400);
  BOOST_TEST(has(policy.body, "24h:150"), policy.body.substr(0, 2000));
  BOOST_TEST(has(policy.body, "value=\"24h:150\""));
  auto len = post(c, "/cal-event-types-test",
                  {{"action", "create"}, {"title", "Long"}, {"slug", "long"}, {"length", "abc"}, {"location", "cal-video"}});
  BOOST_TEST(len.status == 400);
  BOOST_TEST(has(len.body, "Length must be a whole number of minutes"));
  // Nothing half-written.
  BOOST_TEST(event_types(c).size() == 0u);

  auto week = http("GET", base_url() + "/cal-availability-test?tz=Nowhere%2FCity", c.cookie);
  BOOST_TEST(week.status == 400);
  BOOST_TEST(has(week.body, "Unknown time zone"));
  auto action = post(c, "/cal-availability-test", {{"action", "explode"}, {"schedule_id", std::to_string(sid)}});
  BOOST_TEST(action.status == 400);
  auto other = post(c, "/cal-availability-test", {{"action", "delete_schedule"}, {"schedule_id", "999999999"}});
  BOOST_TEST(other.status == 404);
}

BOOST_FIXTURE_TEST_CASE(public_profile_shows_slots_in_the_viewer_zone, Fx) {
  Coach c = new_coach("Europe/London");
  int64_t sid = create_schedule(c, "Hours", "Europe/London", true);
  int64_t et = create_type(c, "consult-30", {{"schedule_id", std::to_string(sid)}, {"price", "40.00"}});
  create_type(c, "secret-30", {{"schedule_id", std::to_string(sid)}, {"hidden", "1"}});
  const std::string day = future_midweek(9);
  auto r = http("GET", base_url() + "/coaches/" + std::to_string(c.id) + "?tz=Asia%2FKolkata&week=" + day);
  BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 2000));
  BOOST_TEST(has(r.body, "Pick a time"));
  BOOST_TEST(has(r.body, "id=\"viewer-zone\">Asia/Kolkata<"));
  BOOST_TEST(has(r.body, "+05:30\">"));  // <time datetime="...+05:30">
  BOOST_TEST(has(r.body, "UTC+05:30"));
  BOOST_TEST(has(r.body, "/book?coachId=" + std::to_string(c.id) + "&amp;eventTypeId=" + std::to_string(et) + "&amp;start="));
  BOOST_TEST(has(r.body, "40.00 USD"));
  BOOST_TEST(!has(r.body, "secret-30"));
  BOOST_TEST(!has(r.body, "Session secret-30"));  // hidden types are not offered
  BOOST_TEST(slots_on(r.body, day) > 0);
  BOOST_TEST(!has(r.body, "+00:00\">"));
  BOOST_TEST(!has(r.body, "Sign out"));  // public, anonymous

  // No ?tz=: the signed-in viewer's own zone, else UTC.
  int64_t agent = create_user(db, "agent", "Australia/Sydney");
  auto mine = http("GET", base_url() + "/coaches/" + std::to_string(c.id),
                   {{"Cookie", "__session=" + clerk_token(clerk_id_of(db, agent))}});
  BOOST_TEST(mine.status == 200);
  BOOST_TEST(has(mine.body, "id=\"viewer-zone\">Australia/Sydney<"));
  auto anon = http("GET", base_url() + "/coaches/" + std::to_string(c.id));
  BOOST_TEST(has(anon.body, "id=\"viewer-zone\">UTC<"));

  auto bad_tz = http("GET", base_url() + "/coaches/" + std::to_string(c.id) + "?tz=Mars%2FOlympus");
  BOOST_TEST(bad_tz.status == 400);
  BOOST_TEST(has(bad_tz.body, "Unknown time zone"));
  auto bad_week = http("GET", base_url() + "/coaches/" + std::to_string(c.id) + "?week=next");
  BOOST_TEST(bad_week.status == 400);
  auto bad_type = http("GET", base_url() + "/coaches/" + std::to_string(c.id) + "?type=123456789");
  BOOST_TEST(bad_type.status == 404);
}

BOOST_FIXTURE_TEST_CASE(unknown_and_non_coach_profiles_are_404, Fx) {
  int64_t agent = create_user(db, "agent");
  for (const std::string& path : std::vector<std::string>{"/coaches/99999999", "/coaches/abc", "/coaches/", "/coaches/0",
                                                          "/coaches/-3", "/coaches/" + std::to_string(agent)}) {
    auto r = http("GET", base_url() + path);
    BOOST_TEST(r.status == 404, path);
    BOOST_TEST(has(r.body, "class=\"topbar\""), path);
  }
  auto post_r = http("POST", base_url() + "/coaches/1", {{"Content-Type", "application/x-www-form-urlencoded"}}, "a=b");
  BOOST_TEST(post_r.status == 405);
}

BOOST_FIXTURE_TEST_CASE(home_links_coach_names_to_their_profiles, Fx) {
  auto home = http("GET", base_url() + "/");
  BOOST_TEST(home.status == 200);
  BOOST_TEST(has(home.body, "<h2><a href=\"/coaches/"));
}

BOOST_FIXTURE_TEST_CASE(agents_get_403_on_coach_pages, Fx) {
  int64_t agent = create_user(db, "agent");
  Headers cookie = {{"Cookie", "__session=" + clerk_token(clerk_id_of(db, agent))}};
  for (const std::string path : {"/coach/calendar", "/cal-availability-test", "/cal-event-types-test"}) {
    auto r = http("GET", base_url() + path, cookie);
    BOOST_TEST(r.status == 403, path);
    BOOST_TEST(has(r.body, "coaches_only"), path);
    BOOST_TEST(has(r.body, "Sign out"), path);  // the top bar keeps the signed-in user
  }
  auto anon = http("GET", base_url() + "/coach/calendar");
  BOOST_TEST(anon.status == 303);
  BOOST_TEST(anon.headers["location"].rfind("/sign-in?redirect_url=", 0) == 0u);
}

BOOST_FIXTURE_TEST_CASE(forms_without_the_csrf_token_are_refused, Fx) {
  Coach c = new_coach();
  for (const std::string path : {"/coach/calendar", "/cal-availability-test", "/cal-event-types-test"}) {
    auto none = http("POST", base_url() + path, c.post, "action=sync");
    BOOST_TEST(none.status == 403, path);
    BOOST_TEST(has(none.body, "csrf_failed"), path);
    auto wrong = http("POST", base_url() + path, c.post, "action=sync&csrf_token=" + std::string(64, 'a'));
    BOOST_TEST(wrong.status == 403, path);
    auto ok = http("POST", base_url() + path, c.post, "action=sync&csrf_token=" + c.csrf);
    BOOST_TEST(ok.status == 200, path + ": " + ok.body.substr(0, 1000));
  }
}

BOOST_FIXTURE_TEST_CASE(coach_calendar_page_manages_schedules_and_previews_a_week, Fx) {
  Coach c = new_coach("America/Chicago");
  auto empty = http("GET", base_url() + "/coach/calendar", c.cookie);
  BOOST_TEST_REQUIRE(empty.status == 200, empty.body.substr(0, 1000));
  BOOST_TEST(has(empty.body, "My calendar"));
  BOOST_TEST(has(empty.body, "<option value=\"America/Chicago\" selected>"));
  int64_t sid = create_schedule(c, "Coaching hours", "America/Chicago", true, "/coach/calendar");
  auto rules = post(c, "/coach/calendar",
                    {{"action", "replace_rules"}, {"schedule_id", std::to_string(sid)},
                     {"tue_start1", "09:00"}, {"tue_end1", "12:00"}, {"thu_start1", "13:00"}, {"thu_end1", "17:00"}});
  BOOST_TEST_REQUIRE(rules.status == 200, rules.body.substr(0, 2000));
  BOOST_TEST(has(rules.body, "09:00–12:00"));
  BOOST_TEST(!has(rules.body, "Raw Cal.com exchanges"));
  int64_t et = create_type(c, "hour", {{"length", "60"}});
  std::string day = future_midweek(9);
  while (true) {  // a Tuesday
    std::tm tm{};
    strptime(day.c_str(), "%Y-%m-%d", &tm);
    timegm(&tm);
    if (tm.tm_wday == 2) break;
    day = add_days(day, 1);
  }
  auto prev = http("GET", base_url() + "/coach/calendar?event_type=" + std::to_string(et) + "&tz=Europe%2FLondon&week=" + day, c.cookie);
  BOOST_TEST_REQUIRE(prev.status == 200, prev.body.substr(0, 2000));
  BOOST_TEST(has(prev.body, "An agent in <strong>Europe/London</strong>"));
  BOOST_TEST(slots_on(prev.body, day) == 3);            // 09:00-12:00 Chicago, hourly
  BOOST_TEST(slots_on(prev.body, add_days(day, 1)) == 0);  // Wednesday off
  BOOST_TEST(slots_on(prev.body, add_days(day, 2)) == 4);  // Thursday 13:00-17:00
  auto bad = post(c, "/coach/calendar",
                  {{"action", "add_override"}, {"schedule_id", std::to_string(sid)}, {"date", day}, {"start", "12:00"}, {"end", "11:00"}});
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(has(bad.body, "must be after the start"));
  BOOST_TEST(has(bad.body, "value=\"" + day + "\""));
}

BOOST_FIXTURE_TEST_CASE(cal_outage_shows_the_week_marked_degraded, Fx) {
  Coach c = new_coach();
  int64_t sid = create_schedule(c, "Hours", "Europe/London", true);
  int64_t et = create_type(c, "outage-30", {{"schedule_id", std::to_string(sid)}});
  const std::string day = future_midweek(9);
  const std::string view = "?event_type=" + std::to_string(et) + "&tz=Asia%2FKolkata&week=" + day;
  auto f = emu_post("/_emulator/faults", "{\"path_prefix\":\"/v2/slots\",\"status\":503,\"count\":1}");
  BOOST_TEST_REQUIRE(f.status < 300, f.body);
  auto down = http("GET", base_url() + "/cal-availability-test" + view, c.cookie);
  http("DELETE", cfg().cal_api_base_url + "/_emulator/faults");
  BOOST_TEST_REQUIRE(down.status == 200, down.body.substr(0, 2000));
  BOOST_TEST(has(down.body, "degraded (computed locally)"));
  BOOST_TEST(has(down.body, "id=\"slot-source\">local<"));
  BOOST_TEST(slots_on(down.body, day) == 16);
  auto up = http("GET", base_url() + "/cal-availability-test" + view, c.cookie);
  BOOST_TEST(has(up.body, "id=\"slot-source\">calcom<"));
  BOOST_TEST(!has(up.body, "degraded (computed locally)"));
  BOOST_TEST(slots_on(up.body, day) == 16);
  auto cached = http("GET", base_url() + "/cal-availability-test" + view, c.cookie);
  BOOST_TEST(has(cached.body, "id=\"slot-source\">cache<"));
}
