/* test_it_booking_pages.cpp: the booking pages through nginx against the
 * Cal.com emulator and MariaDB, driven like a browser (__session cookie,
 * csrf_token and idempotency_key scraped from the form, urlencoded posts):
 * /book (month, day, form, POST -> 303 -> /book/confirmation), a double
 * submit, required answers, a slot taken meanwhile, /my/sessions (list, the
 * coach's view, another agent's 404), reschedule and cancel through the forms,
 * CSRF, and the anonymous sign-in redirect. A new coach per case. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE booking_pages
#include <boost/test/unit_test.hpp>

#include <ctime>

#include "http.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

bool has(const std::string& body, const std::string& needle) { return body.find(needle) != std::string::npos; }

std::string form(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return out;
}

/* value="..." of the input named name (first one); "" when absent. */
std::string input_value(const std::string& html, const std::string& name) {
  std::string key = "name=\"" + name + "\" value=\"";
  size_t p = html.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  return html.substr(p, html.find('"', p) - p);
}

/* "uid" of a Location like /book/confirmation?uid=X or /my/sessions/X?done=... */
std::string uid_in(const std::string& location) {
  size_t p = location.find("uid=");
  if (p != std::string::npos) return location.substr(p + 4);
  p = location.find("/my/sessions/");
  if (p == std::string::npos) return "";
  std::string rest = location.substr(p + 13);
  return rest.substr(0, rest.find_first_of("?/"));
}

struct User {
  int64_t id = 0;
  std::string token, csrf;
  Headers bearer, json, cookie, post;
};

const char* kFields =
    ",\"bookingFields\":["
    "{\"type\":\"text\",\"slug\":\"goal\",\"label\":\"Your goal\",\"required\":true},"
    "{\"type\":\"select\",\"slug\":\"level\",\"label\":\"Level\",\"required\":false,\"options\":[\"new\",\"experienced\"]},"
    "{\"type\":\"number\",\"slug\":\"listings\",\"label\":\"Active listings\",\"required\":false},"
    "{\"type\":\"boolean\",\"slug\":\"first-time\",\"label\":\"First coaching session\",\"required\":false}]";

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() { http_client::global_init(); }

  User user(const std::string& role, const std::string& tz) {
    User u;
    u.id = create_user(db, role, tz);
    u.token = clerk_token(clerk_id_of(db, u.id));
    u.bearer = {{"Authorization", "Bearer " + u.token}};
    u.json = u.bearer;
    u.json.emplace_back("Content-Type", "application/json");
    u.cookie = {{"Cookie", "__session=" + u.token}};
    u.post = u.cookie;
    u.post.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    // Any page with a form carries the token bound to this session.
    auto page = http("GET", base_url() + "/cal-booking-test", u.cookie);
    BOOST_TEST_REQUIRE(page.status == 200, page.body.substr(0, 400));
    u.csrf = input_value(page.body, "csrf_token");
    BOOST_TEST_REQUIRE(u.csrf.size() == 64u);
    return u;
  }
  User new_coach() {
    User c = user("coach", "Europe/Madrid");
    auto r = http("POST", base_url() + "/api/cal/coaches/onboard", c.json, "{}");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return c;
  }
  int64_t create_type(const User& c, const std::string& slug, int minutes) {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"Session " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":" +
                      std::to_string(minutes) + ",\"priceMinor\":0" + kFields + "}");  // free: priced ones pay first (test_it_payments)
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  /* Slot starts (UTC ISO, no milliseconds) of one UTC day. */
  std::vector<std::string> slot_starts(const User& c, int64_t et, const std::string& day) {
    auto r = http("GET", base_url() + "/api/cal/availability?coachId=" + std::to_string(c.id) + "&eventTypeId=" +
                             std::to_string(et) + "&start=" + day + "&end=" + day + "&timeZone=UTC");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    std::vector<std::string> out;
    const Json::Value body = r.json();   // not a temporary: the loop keeps references into it
    for (const auto& d : body["data"]["days"])
      for (const auto& s : d["slots"]) {
        std::string v = s["start"].asString();
        auto dot = v.find('.');
        out.push_back(dot == std::string::npos ? v : v.substr(0, dot) + "Z");
      }
    return out;
  }
  static std::string book_query(const User& c, int64_t et) {
    return "/book?coachId=" + std::to_string(c.id) + "&eventTypeId=" + std::to_string(et);
  }
  /* GET the booking form for start; returns it (status checked). */
  Http form_page(const User& agent, const User& c, int64_t et, const std::string& start, const std::string& tz) {
    auto r = http("GET", base_url() + book_query(c, et) + "&tz=" + url_encode(tz) + "&start=" + url_encode(start), agent.cookie);
    BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 3000));
    return r;
  }
  /* POSTs the booking form as a browser would (the form's hidden fields + answers). */
  Http submit(const User& agent, const Http& form_html, const Fields& answers, const std::string& key_override = "") {
    Fields f = {{"csrf_token", agent.csrf}};
    for (const char* k : {"coachId", "eventTypeId", "start", "tz", "idempotency_key"}) {
      std::string v = input_value(form_html.body, k);
      if (std::string(k) == "idempotency_key" && !key_override.empty()) v = key_override;
      f.emplace_back(k, v);
    }
    for (const auto& a : answers) f.push_back(a);
    return http("POST", base_url() + "/book", agent.post, form(f));
  }
  Http post(const User& u, const std::string& path, Fields f) {
    f.emplace_back("csrf_token", u.csrf);
    return http("POST", base_url() + path, u.post, form(f));
  }
  static int64_t emu_bookings_of(int64_t et) {
    int64_t n = 0;
    const Json::Value state = emu_state();   // keep it alive while the loop reads it
    for (const auto& b : state["bookings"])
      if (b["eventTypeId"].asInt64() == et) ++n;
    return n;
  }
  /* Books the third slot of a Tuesday through the pages; returns the uid. */
  std::string book_one(const User& agent, const User& c, int64_t et, std::string* start_out = nullptr) {
    auto starts = slot_starts(c, et, future_weekday(2, 8));
    BOOST_TEST_REQUIRE(starts.size() >= 4u);
    auto page = form_page(agent, c, et, starts[2], "America/Los_Angeles");
    auto r = submit(agent, page, {{"q_goal", "Close more listings"}, {"q_level", "new"}});
    BOOST_TEST_REQUIRE(r.status == 303, r.body.substr(0, 3000));
    if (start_out) *start_out = starts[2];
    return uid_in(r.headers["location"]);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(anonymous_book_redirects_to_sign_in_and_back, Fx) {
  auto r = http("GET", base_url() + "/book?coachId=1&eventTypeId=2");
  BOOST_TEST(r.status == 303);
  const std::string loc = r.headers["location"];
  BOOST_TEST(loc.rfind("/sign-in?redirect_url=", 0) == 0, loc);
  BOOST_TEST(has(loc, url_encode(base_url() + "/book?coachId=1&eventTypeId=2")), loc);
  auto s = http("GET", base_url() + "/my/sessions");
  BOOST_TEST(s.status == 303);
  BOOST_TEST(s.headers["location"].rfind("/sign-in?", 0) == 0);
}

BOOST_FIXTURE_TEST_CASE(month_and_day_views_link_free_days_and_slots, Fx) {
  User c = new_coach(), agent = user("agent", "America/New_York");
  int64_t et = create_type(c, "month", 60);
  const std::string day = future_weekday(3, 8);
  auto m = http("GET", base_url() + book_query(c, et) + "&from=" + day, agent.cookie);
  BOOST_TEST_REQUIRE(m.status == 200, m.body.substr(0, 2000));
  BOOST_TEST(has(m.body, "id=\"month\""));
  BOOST_TEST(has(m.body, "<strong id=\"viewer-zone\">America/New_York</strong>"));  // the agent's own zone
  BOOST_TEST(has(m.body, "data-date=\"" + day + "\" data-slots=\"8\""));             // Madrid 09-17, 60 min
  BOOST_TEST(has(m.body, "date=" + day + "\""));                                      // the day is a link
  BOOST_TEST(has(m.body, "class=\"off\""));                                           // the weekend is not
  auto d = http("GET", base_url() + book_query(c, et) + "&tz=Europe%2FMadrid&date=" + day, agent.cookie);
  BOOST_TEST_REQUIRE(d.status == 200);
  BOOST_TEST(has(d.body, "id=\"day-slots\" data-date=\"" + day + "\" data-slots=\"8\""));
  const bool nine_local = has(d.body, "<time datetime=\"" + day + "T09:00:00.000+01:00\">09:00</time>") ||
                         has(d.body, "<time datetime=\"" + day + "T09:00:00.000+02:00\">09:00</time>");
  BOOST_TEST(nine_local);
  auto bad = http("GET", base_url() + book_query(c, et) + "&tz=Mars%2FOlympus", agent.cookie);
  BOOST_TEST(bad.status == 400);
  auto unknown = http("GET", base_url() + "/book?coachId=" + std::to_string(c.id) + "&eventTypeId=999999999", agent.cookie);
  BOOST_TEST(unknown.status == 404);
}

BOOST_FIXTURE_TEST_CASE(agent_books_through_the_form_and_sees_the_confirmation, Fx) {
  User c = new_coach(), agent = user("agent", "America/Los_Angeles");
  int64_t et = create_type(c, "form", 60);
  auto starts = slot_starts(c, et, future_weekday(2, 8));
  BOOST_TEST_REQUIRE(starts.size() == 8u);
  auto page = form_page(agent, c, et, starts[1], "America/Los_Angeles");
  BOOST_TEST(has(page.body, "Session form"));
  BOOST_TEST(has(page.body, "60 min"));
  BOOST_TEST(has(page.body, "Free"));
  BOOST_TEST(has(page.body, "America/Los_Angeles (UTC-0"));          // the zone named with its offset
  BOOST_TEST(has(page.body, "name=\"q_goal\""));
  BOOST_TEST(has(page.body, "<option value=\"experienced\">experienced</option>"));
  BOOST_TEST(has(page.body, "type=\"number\" step=\"any\" name=\"q_listings\""));
  BOOST_TEST(has(page.body, "type=\"checkbox\" id=\"q-first-time\""));
  BOOST_TEST(input_value(page.body, "idempotency_key").size() > 10u);
  auto r = submit(agent, page, {{"q_goal", "Close more listings"}, {"q_level", "experienced"}, {"q_listings", "12"},
                                {"q_first-time", "1"}});
  BOOST_TEST_REQUIRE(r.status == 303, r.body.substr(0, 3000));
  const std::string loc = r.headers["location"];
  BOOST_TEST(loc.rfind("/book/confirmation?uid=", 0) == 0, loc);
  const std::string uid = uid_in(loc);
  auto conf = http("GET", base_url() + loc, agent.cookie);
  BOOST_TEST_REQUIRE(conf.status == 200, conf.body.substr(0, 2000));
  BOOST_TEST(has(conf.body, "data-uid=\"" + uid + "\""));
  BOOST_TEST(has(conf.body, "You're booked!"));
  BOOST_TEST(has(conf.body, "<time datetime=\"" + starts[1] + "\">"));
  BOOST_TEST(has(conf.body, "Europe/Madrid (UTC+0"));                 // the coach's time too
  BOOST_TEST(has(conf.body, "https://calendar.google.com/calendar/render?action=TEMPLATE&amp;text="));
  BOOST_TEST(has(conf.body, "https://outlook.live.com/calendar/0/deeplink/compose?path=/calendar/action/compose&amp;rru=addevent"));
  BOOST_TEST(has(conf.body, "/my/sessions/" + uid + "/reschedule"));
  BOOST_TEST(has(conf.body, "/my/sessions/" + uid + "/cancel"));
  BOOST_TEST(has(conf.body, "Close more listings"));
  // Recorded with typed answers, in the agent's zone.
  auto api = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.bearer);
  BOOST_TEST_REQUIRE(api.status == 200, api.body);
  auto d = api.json()["data"];
  BOOST_TEST(d["startUtc"].asString() == starts[1]);
  BOOST_TEST(d["agent"]["timeZone"].asString() == "America/Los_Angeles");
  BOOST_TEST(d["responses"]["listings"].asInt() == 12);
  BOOST_TEST(d["responses"]["first-time"].asBool() == true);
  BOOST_TEST(d["responses"]["level"].asString() == "experienced");
  // Listed on /my/sessions for the agent, and for the coach with the agent's name.
  auto mine = http("GET", base_url() + "/my/sessions", agent.cookie);
  BOOST_TEST(mine.status == 200);
  BOOST_TEST(has(mine.body, "data-uid=\"" + uid + "\""));
  auto coach_view = http("GET", base_url() + "/my/sessions", c.cookie);
  BOOST_TEST(coach_view.status == 200);
  BOOST_TEST(has(coach_view.body, "data-uid=\"" + uid + "\""));
  auto agent_name = db.query_one("SELECT name FROM users WHERE id = ?", {agent.id})->str("name");
  BOOST_TEST(has(coach_view.body, "with " + agent_name + " (agent)"));
  // The e-mails' manage link /bookings/{uid} leads to the session page.
  auto old = http("GET", base_url() + "/bookings/" + uid, agent.cookie);
  BOOST_TEST(old.status == 301);
  BOOST_TEST(old.headers["location"] == "/my/sessions/" + uid);
}

BOOST_FIXTURE_TEST_CASE(double_submit_with_the_same_key_books_once, Fx) {
  User c = new_coach(), agent = user("agent", "Europe/London");
  int64_t et = create_type(c, "twice", 30);
  auto starts = slot_starts(c, et, future_weekday(4, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 4u);
  auto page = form_page(agent, c, et, starts[3], "Europe/London");
  auto a = submit(agent, page, {{"q_goal", "Same form twice"}});
  auto b = submit(agent, page, {{"q_goal", "Same form twice"}});
  BOOST_TEST_REQUIRE(a.status == 303, a.body.substr(0, 2000));
  BOOST_TEST_REQUIRE(b.status == 303, b.body.substr(0, 2000));
  BOOST_TEST(a.headers["location"] == b.headers["location"]);
  BOOST_TEST(emu_bookings_of(et) == 1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CalBooking WHERE cal_event_type_id = ?", {et})->i64("n") == 1);
}

BOOST_FIXTURE_TEST_CASE(missing_required_answer_is_400_with_the_message_and_values_kept, Fx) {
  User c = new_coach(), agent = user("agent", "Europe/London");
  int64_t et = create_type(c, "required", 30);
  auto starts = slot_starts(c, et, future_weekday(2, 9));
  BOOST_TEST_REQUIRE(!starts.empty());
  auto page = form_page(agent, c, et, starts[0], "Europe/London");
  auto r = submit(agent, page, {{"q_goal", "   "}, {"q_level", "experienced"}, {"q_listings", "7"}});
  BOOST_TEST(r.status == 400);
  BOOST_TEST(has(r.body, "Please answer “Your goal”"), r.body.substr(0, 4000));
  BOOST_TEST(has(r.body, "id=\"q-goal-error\""));
  BOOST_TEST(has(r.body, "<option value=\"experienced\" selected>"));   // what was typed is kept
  BOOST_TEST(has(r.body, "name=\"q_listings\" value=\"7\""));
  BOOST_TEST(input_value(r.body, "idempotency_key") == input_value(page.body, "idempotency_key"));
  auto n = submit(agent, page, {{"q_goal", "Grow"}, {"q_listings", "a dozen"}});
  BOOST_TEST(n.status == 400);
  BOOST_TEST(has(n.body, "“Active listings” must be a number"));
  auto o = submit(agent, page, {{"q_goal", "Grow"}, {"q_level", "guru"}});
  BOOST_TEST(o.status == 400);
  BOOST_TEST(has(o.body, "Pick one of the offered answers to “Level”"));
  BOOST_TEST(emu_bookings_of(et) == 0);
}

BOOST_FIXTURE_TEST_CASE(slot_taken_meanwhile_rerenders_the_day_with_a_notice, Fx) {
  User c = new_coach(), first = user("agent", "Europe/London"), second = user("agent", "Europe/London");
  int64_t et = create_type(c, "race", 60);
  auto starts = slot_starts(c, et, future_weekday(3, 9));
  BOOST_TEST_REQUIRE(starts.size() >= 3u);
  auto p1 = form_page(first, c, et, starts[1], "UTC");
  auto p2 = form_page(second, c, et, starts[1], "UTC");   // both opened the form while it was free
  auto a = submit(first, p1, {{"q_goal", "first"}});
  BOOST_TEST_REQUIRE(a.status == 303, a.body.substr(0, 2000));
  auto b = submit(second, p2, {{"q_goal", "second"}});
  BOOST_TEST(b.status == 409);
  BOOST_TEST(has(b.body, "That time was just taken"), b.body.substr(0, 3000));
  BOOST_TEST(has(b.body, "id=\"day-slots\""));
  BOOST_TEST(!has(b.body, "<time datetime=\"" + starts[1].substr(0, 19) + ".000Z\">"));   // not offered again
  BOOST_TEST(has(b.body, "<time datetime=\"" + starts[2].substr(0, 19) + ".000Z\">"));    // the others are
}

BOOST_FIXTURE_TEST_CASE(another_agent_gets_404_for_someone_elses_session, Fx) {
  User c = new_coach(), agent = user("agent", "Europe/London"), other = user("agent", "Europe/London");
  int64_t et = create_type(c, "private", 30);
  std::string uid = book_one(agent, c, et);
  BOOST_TEST(http("GET", base_url() + "/my/sessions/" + uid, agent.cookie).status == 200);
  BOOST_TEST(http("GET", base_url() + "/my/sessions/" + uid, other.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/my/sessions/" + uid + "/cancel", other.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/book/confirmation?uid=" + uid, other.cookie).status == 404);
  auto cancel = post(other, "/my/sessions/" + uid + "/cancel", {{"reason", "not mine"}});
  BOOST_TEST(cancel.status == 404);
  auto still = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.bearer);
  BOOST_TEST(still.json()["data"]["status"].asString() == "accepted");
  BOOST_TEST(!has(http("GET", base_url() + "/my/sessions", other.cookie).body, uid));
}

BOOST_FIXTURE_TEST_CASE(cancel_through_the_form, Fx) {
  User c = new_coach(), agent = user("agent", "Europe/London");
  int64_t et = create_type(c, "cancel", 30);
  std::string uid = book_one(agent, c, et);
  auto confirm = http("GET", base_url() + "/my/sessions/" + uid + "/cancel", agent.cookie);
  BOOST_TEST_REQUIRE(confirm.status == 200);
  BOOST_TEST(has(confirm.body, "Cancel this session?"));
  auto no_csrf = http("POST", base_url() + "/my/sessions/" + uid + "/cancel", agent.post, "reason=x");
  BOOST_TEST(no_csrf.status == 403);
  auto r = post(agent, "/my/sessions/" + uid + "/cancel", {{"reason", "Family emergency"}});
  BOOST_TEST_REQUIRE(r.status == 303, r.body.substr(0, 2000));
  BOOST_TEST(r.headers["location"] == "/my/sessions/" + uid + "?done=cancelled");
  auto detail = http("GET", base_url() + r.headers["location"], agent.cookie);
  BOOST_TEST(detail.status == 200);
  BOOST_TEST(has(detail.body, "The session is cancelled"));
  BOOST_TEST(has(detail.body, "Family emergency"));
  BOOST_TEST(has(detail.body, "id=\"booking-status\">Cancelled<"));
  auto api = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.bearer);
  BOOST_TEST(api.json()["data"]["status"].asString() == "cancelled");
  BOOST_TEST(api.json()["data"]["cancelledBy"].asString() == "agent");
  auto again = post(agent, "/my/sessions/" + uid + "/cancel", {{"reason", "twice"}});
  BOOST_TEST(again.status == 409);
  auto cancelled_tab = http("GET", base_url() + "/my/sessions?status=cancelled", agent.cookie);
  BOOST_TEST(has(cancelled_tab.body, "data-uid=\"" + uid + "\""));
  BOOST_TEST(!has(http("GET", base_url() + "/my/sessions", agent.cookie).body, "data-uid=\"" + uid + "\""));
}

BOOST_FIXTURE_TEST_CASE(reschedule_through_the_form_moves_the_session, Fx) {
  User c = new_coach(), agent = user("agent", "Europe/London");
  int64_t et = create_type(c, "move", 30);
  std::string start;
  std::string uid = book_one(agent, c, et, &start);
  auto pick = http("GET", base_url() + "/my/sessions/" + uid + "/reschedule", agent.cookie);
  BOOST_TEST_REQUIRE(pick.status == 200, pick.body.substr(0, 2000));
  BOOST_TEST(has(pick.body, "id=\"month\""));
  auto later = slot_starts(c, et, future_weekday(4, 8));
  BOOST_TEST_REQUIRE(!later.empty());
  auto confirm = http("GET", base_url() + "/my/sessions/" + uid + "/reschedule?tz=UTC&start=" + url_encode(later[0]), agent.cookie);
  BOOST_TEST_REQUIRE(confirm.status == 200);
  BOOST_TEST(has(confirm.body, "Move your session"));
  auto r = post(agent, "/my/sessions/" + uid + "/reschedule",
                {{"start", input_value(confirm.body, "start")}, {"tz", "UTC"},
                 {"idempotency_key", input_value(confirm.body, "idempotency_key")}, {"reason", "Clash"}});
  BOOST_TEST_REQUIRE(r.status == 303, r.body.substr(0, 2000));
  std::string new_uid = uid_in(r.headers["location"]);
  BOOST_TEST(!new_uid.empty());
  BOOST_TEST(new_uid != uid);
  auto detail = http("GET", base_url() + "/my/sessions/" + new_uid, agent.cookie);
  BOOST_TEST(has(detail.body, "<time datetime=\"" + later[0] + "\">"));
  auto old = http("GET", base_url() + "/my/sessions/" + uid, agent.cookie);
  BOOST_TEST(has(old.body, "id=\"booking-status\">Rescheduled<"));
  BOOST_TEST(http("GET", base_url() + "/my/sessions/" + uid + "/reschedule", agent.cookie).status == 409);
}

BOOST_FIXTURE_TEST_CASE(unknown_paths_and_bad_uids_are_404, Fx) {
  User agent = user("agent", "Europe/London");
  BOOST_TEST(http("GET", base_url() + "/my/sessions/nope123", agent.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/my/sessions/a%3Cb", agent.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/my/sessions/abc/delete", agent.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/booking-anything", agent.cookie).status == 404);
  BOOST_TEST(http("GET", base_url() + "/book", agent.cookie).status == 400);   // no coach chosen
  BOOST_TEST(http("DELETE", base_url() + "/book", agent.cookie).status == 405);
}
