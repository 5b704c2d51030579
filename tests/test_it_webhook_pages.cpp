/* test_it_webhook_pages.cpp: the webhook pages through nginx, driven like a
 * browser (__session cookie, csrf_token scraped from the page, urlencoded
 * forms): /cal-webhook-management, /cal-webhook-test, /cal-webhook-monitor.
 * Covers sign-in and roles, CSRF, a signed BOOKING_CREATED reaching the inbox
 * and CalBooking, a wrong secret (401, nothing stored, counter +1), duplicate
 * sends, the default setup pressed twice (one webhook), create/update/delete,
 * and replaying a dead letter from the monitor. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE webhook_pages
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <set>

#include "cal_integration.hpp"
#include "http.hpp"
#include "test_support.hpp"
#include "webhooks.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string form(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return out;
}

bool has(const std::string& body, const std::string& needle) { return body.find(needle) != std::string::npos; }

size_t count_of(const std::string& body, const std::string& needle) {
  size_t n = 0;
  for (size_t p = body.find(needle); p != std::string::npos; p = body.find(needle, p + needle.size())) ++n;
  return n;
}

std::string html_unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    static const std::pair<const char*, char> ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    bool hit = false;
    for (const auto& [e, c] : ents)
      if (s.compare(i, std::strlen(e), e) == 0) {
        out += c;
        i += std::strlen(e) - 1;
        hit = true;
        break;
      }
    if (!hit) out += '&';
  }
  return out;
}

/* The text after `key` up to the next `stop` ("" when key is absent). */
std::string after(const std::string& body, const std::string& key, const std::string& stop = "\"") {
  size_t p = body.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  return body.substr(p, body.find(stop, p) - p);
}

std::string textarea_body(const std::string& page) {
  size_t p = page.find("id=\"body\"");
  if (p == std::string::npos) return "";
  p = page.find('>', p) + 1;
  return html_unescape(page.substr(p, page.find("</textarea>", p) - p));
}

struct Browser {
  int64_t id = 0;
  std::string token, csrf;
  Headers bearer, cookie, post;
};

struct Fx {
  db::Db db{db::settings_from(cfg())};

  Browser sign_in(int64_t user_id, const std::string& csrf_page) {
    Browser b;
    b.id = user_id;
    b.token = clerk_token(clerk_id_of(db, user_id));
    b.bearer = {{"Authorization", "Bearer " + b.token}};
    b.cookie = {{"Cookie", "__session=" + b.token}};
    b.post = b.cookie;
    b.post.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    auto page = http("GET", base_url() + csrf_page, b.cookie);
    BOOST_TEST_REQUIRE(page.status == 200, csrf_page + ": " + page.body.substr(0, 600));
    b.csrf = after(page.body, "name=\"csrf_token\" value=\"");
    BOOST_TEST_REQUIRE(b.csrf.size() == 64u);
    return b;
  }

  Browser admin() { return sign_in(create_user(db, "admin"), "/cal-webhook-test"); }

  /* A coach with an active Cal.com managed user. */
  Browser coach() {
    int64_t id = create_user(db, "coach");
    Headers h = {{"Authorization", "Bearer " + clerk_token(clerk_id_of(db, id))}, {"Content-Type", "application/json"}};
    auto r = http("POST", base_url() + "/api/cal/coaches/onboard", h, "{}");
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return sign_in(id, "/cal-webhook-management");
  }

  Http post(const Browser& b, const std::string& path, Fields fields) {
    fields.emplace_back("csrf_token", b.csrf);
    return http("POST", base_url() + path, b.post, form(fields));
  }

  /* Loads the prefilled sample of a trigger and sends it as the test page's form would. */
  Http send_sample(const Browser& admin, const std::string& trigger, const std::string& secret, int64_t coach_id = 0,
                   Fields extra = {}) {
    std::string q = "/cal-webhook-test?trigger=" + trigger + (coach_id ? "&coach=" + std::to_string(coach_id) : "");
    auto page = http("GET", base_url() + q, admin.cookie);
    BOOST_TEST_REQUIRE(page.status == 200, page.body.substr(0, 1000));
    std::string body = textarea_body(page.body);
    BOOST_TEST_REQUIRE(json::parse(body).ok(), body);
    Fields f = {{"trigger", trigger}, {"coach", coach_id ? std::to_string(coach_id) : ""}, {"body", body}, {"secret", secret}};
    for (auto& e : extra) f.push_back(e);
    return post(admin, "/cal-webhook-test", f);
  }

  int64_t signature_failures(const Browser& admin) {
    auto m = http("GET", base_url() + "/cal-webhook-monitor?hours=1", admin.cookie);
    BOOST_TEST_REQUIRE(m.status == 200, m.body.substr(0, 1000));
    return std::stoll(after(m.body, "id=\"sig-failures\" data-count=\""));
  }
};

const char* const kPages[] = {"/cal-webhook-management", "/cal-webhook-test", "/cal-webhook-monitor"};

}  // namespace

BOOST_FIXTURE_TEST_CASE(pages_need_sign_in_and_the_right_role, Fx) {
  for (const std::string path : kPages) {
    auto anon = http("GET", base_url() + path);
    BOOST_TEST(anon.status == 303, path);
    BOOST_TEST(anon.headers["location"].rfind("/sign-in?redirect_url=", 0) == 0u, path);
  }
  int64_t agent = create_user(db, "agent");
  Headers cookie = {{"Cookie", "__session=" + clerk_token(clerk_id_of(db, agent))}};
  for (const std::string path : kPages) {
    auto r = http("GET", base_url() + path, cookie);
    BOOST_TEST(r.status == 403, path);
    BOOST_TEST(has(r.body, "Sign out"), path);  // the error page keeps the top bar
  }
  // Coaches manage their own webhooks; the test and monitor pages are for admins.
  Browser c = coach();
  BOOST_TEST(http("GET", base_url() + "/cal-webhook-management", c.cookie).status == 200);
  for (const std::string path : {"/cal-webhook-test", "/cal-webhook-monitor"}) {
    auto r = http("GET", base_url() + path, c.cookie);
    BOOST_TEST(r.status == 403, path);
    BOOST_TEST(has(r.body, "admins_only"), path);
  }
  Browser a = admin();
  for (const std::string path : kPages) {
    auto r = http("GET", base_url() + path, a.cookie);
    BOOST_TEST(r.status == 200, path + ": " + r.body.substr(0, 600));
    BOOST_TEST(has(r.body, "href=\"/cal-webhook-management\">Webhooks</a>"), path);  // nav link
  }
  auto del = http("DELETE", base_url() + "/cal-webhook-monitor", a.cookie);
  BOOST_TEST(del.status == 405);
}

BOOST_FIXTURE_TEST_CASE(forms_without_the_csrf_token_are_refused, Fx) {
  Browser a = admin();
  const std::vector<std::pair<std::string, std::string>> cases = {{"/cal-webhook-management", "action=setup_default&scope=platform"},
                                                                  {"/cal-webhook-test", "trigger=PING&body=%7B%7D&secret=configured"},
                                                                  {"/cal-webhook-monitor", "action=replay_all"}};
  for (const auto& [path, body] : cases) {
    auto none = http("POST", base_url() + path, a.post, body);
    BOOST_TEST(none.status == 403, path);
    BOOST_TEST(has(none.body, "csrf_failed"), path);
    auto wrong = http("POST", base_url() + path, a.post, body + "&csrf_token=" + std::string(64, 'a'));
    BOOST_TEST(wrong.status == 403, path);
  }
  // The receiver never saw the PING: nothing was signed or sent.
  auto json_post = http("POST", base_url() + "/cal-webhook-monitor",
                        {{"Cookie", "__session=" + a.token}, {"Content-Type", "application/json"}}, "{}");
  BOOST_TEST(json_post.status == 415);
}

BOOST_FIXTURE_TEST_CASE(booking_created_with_the_right_secret_lands_in_the_inbox_and_calbooking, Fx) {
  Browser a = admin();
  Browser c = coach();
  auto sample = http("GET", base_url() + "/cal-webhook-test?trigger=BOOKING_CREATED&coach=" + std::to_string(c.id), a.cookie);
  BOOST_TEST_REQUIRE(sample.status == 200);
  auto prefilled = json::parse(textarea_body(sample.body));
  BOOST_TEST_REQUIRE(prefilled.ok());
  BOOST_TEST((*prefilled)["triggerEvent"].asString() == "BOOKING_CREATED");
  BOOST_TEST((*prefilled)["payload"]["status"].asString() == "ACCEPTED");
  BOOST_TEST((*prefilled)["payload"]["attendees"][0]["name"].asString() == "Sam Carter");  // the reference sample
  BOOST_TEST((*prefilled)["payload"]["uid"].asString() != "hJ3mZ9qW2xKc7VnT5bRp1L");        // fresh ids
  auto ci = db.query_one("SELECT cal_user_id FROM CalendarIntegration WHERE user_id = ?", {c.id});
  BOOST_TEST((*prefilled)["payload"]["organizer"]["id"].asInt64() == ci->i64("cal_user_id"));

  auto r = send_sample(a, "BOOKING_CREATED", "configured", c.id);
  BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 3000));
  BOOST_TEST(has(r.body, "id=\"response-status\" class=\"ok\">200<"), r.body.substr(0, 3000));
  BOOST_TEST(has(r.body, "X-Cal-Signature-256: "));
  BOOST_TEST(has(r.body, "X-Cal-Webhook-Version: 2021-10-20"));
  BOOST_TEST(has(r.body, "&quot;received&quot; : true"));
  // The inbox row, applied at once.
  std::string event_id = after(r.body, "id=\"inbox-row\" data-event-id=\"");
  BOOST_TEST_REQUIRE(!event_id.empty(), r.body);
  BOOST_TEST(after(r.body, "data-event-id=\"" + event_id + "\" data-status=\"") == "done");
  BOOST_TEST(has(r.body, "new row"));
  // The CalBooking row, new, for the uid that was actually sent.
  std::string uid = after(r.body, "class=\"diff booking-row\" data-uid=\"");
  BOOST_TEST_REQUIRE(!uid.empty());
  BOOST_TEST(has(r.body, "New row"));
  auto inbox = db.query_one("SELECT status, trigger_event, booking_uid FROM webhook_inbox WHERE id = ?", {std::stoll(event_id)});
  BOOST_TEST_REQUIRE(inbox.has_value());
  BOOST_TEST(inbox->str("status") == "done");
  BOOST_TEST(inbox->str("booking_uid") == uid);
  auto booking = db.query_one("SELECT status, coach_user_id FROM CalBooking WHERE cal_uid = ?", {uid});
  BOOST_TEST_REQUIRE(booking.has_value());
  BOOST_TEST(booking->str("status") == "accepted");
  BOOST_TEST(booking->i64("coach_user_id") == c.id);

  // The follow-up link cancels that very booking: its ids are kept.
  std::string cancel_q = "/cal-webhook-test?trigger=BOOKING_CANCELLED&uid=" + uid + "&coach=" + std::to_string(c.id);
  BOOST_TEST(has(r.body, "href=\"/cal-webhook-test?trigger=BOOKING_CANCELLED&amp;uid=" + uid));
  auto cancel_page = http("GET", base_url() + cancel_q, a.cookie);
  auto cancel_body = json::parse(textarea_body(cancel_page.body));
  BOOST_TEST_REQUIRE(cancel_body.ok());
  BOOST_TEST((*cancel_body)["payload"]["uid"].asString() == uid);
  BOOST_TEST(has(cancel_page.body, "name=\"keep_ids\" value=\"1\" checked"));
  auto cancelled = post(a, "/cal-webhook-test", {{"trigger", "BOOKING_CANCELLED"}, {"body", json::write(*cancel_body)},
                                                 {"secret", "configured"}, {"keep_ids", "1"}});
  BOOST_TEST_REQUIRE(cancelled.status == 200, cancelled.body.substr(0, 2000));
  BOOST_TEST(has(cancelled.body, "column(s) changed"));
  BOOST_TEST(db.query_one("SELECT status FROM CalBooking WHERE cal_uid = ?", {uid})->str("status") == "cancelled");
}

BOOST_FIXTURE_TEST_CASE(wrong_secret_is_401_stores_nothing_and_counts, Fx) {
  Browser a = admin();
  int64_t before = signature_failures(a);
  auto r = send_sample(a, "BOOKING_CREATED", "wrong");
  BOOST_TEST_REQUIRE(r.status == 200, r.body.substr(0, 2000));  // the page worked; the receiver said no
  BOOST_TEST(has(r.body, "id=\"response-status\" class=\"error\">401<"), r.body.substr(0, 3000));
  BOOST_TEST(has(r.body, "bad_signature"));
  BOOST_TEST(has(r.body, "id=\"no-inbox-row\""));
  std::string uid = after(r.body, "<h4>The booking: <code>", "<");
  BOOST_TEST_REQUIRE(!uid.empty());
  BOOST_TEST(!db.query_one("SELECT id FROM webhook_inbox WHERE booking_uid = ?", {uid}).has_value());
  BOOST_TEST(!db.query_one("SELECT id FROM CalBooking WHERE cal_uid = ?", {uid}).has_value());
  BOOST_TEST(signature_failures(a) >= before + 1);

  // No secret at all: Cal.com's literal header, also refused.
  auto none = send_sample(a, "PING", "none");
  BOOST_TEST(has(none.body, "X-Cal-Signature-256: no-secret-provided"));
  BOOST_TEST(has(none.body, ">401<"));
  BOOST_TEST(signature_failures(a) >= before + 2);
  auto monitor = http("GET", base_url() + "/cal-webhook-monitor?hours=1", a.cookie);
  BOOST_TEST(has(monitor.body, "id=\"sig-hourly\""));
}

BOOST_FIXTURE_TEST_CASE(keep_ids_sends_a_duplicate_that_is_stored_once, Fx) {
  Browser a = admin();
  auto page = http("GET", base_url() + "/cal-webhook-test?trigger=BOOKING_NO_SHOW_UPDATED", a.cookie);
  std::string body = textarea_body(page.body);
  Fields f = {{"trigger", "BOOKING_NO_SHOW_UPDATED"}, {"body", body}, {"secret", "configured"}, {"keep_ids", "1"}};
  auto first = post(a, "/cal-webhook-test", f);
  BOOST_TEST_REQUIRE(first.status == 200, first.body.substr(0, 2000));
  BOOST_TEST(has(first.body, "new row"));
  std::string id = after(first.body, "id=\"inbox-row\" data-event-id=\"");
  auto second = post(a, "/cal-webhook-test", f);
  BOOST_TEST(has(second.body, "&quot;duplicate&quot; : true"), second.body.substr(0, 3000));
  BOOST_TEST(after(second.body, "id=\"inbox-row\" data-event-id=\"") == id);
  BOOST_TEST(has(second.body, "existing row"));
  BOOST_TEST(db.query_one("SELECT duplicate_count FROM webhook_inbox WHERE id = ?", {std::stoll(id)})->i64("duplicate_count") == 1);
  // Without keep ids the same text is a new event.
  f.pop_back();
  auto third = post(a, "/cal-webhook-test", f);
  BOOST_TEST(has(third.body, "&quot;duplicate&quot; : false"));
  BOOST_TEST(after(third.body, "id=\"inbox-row\" data-event-id=\"") != id);
}

BOOST_FIXTURE_TEST_CASE(every_offered_trigger_has_a_valid_prefilled_body, Fx) {
  Browser a = admin();
  auto page = http("GET", base_url() + "/cal-webhook-test", a.cookie);
  std::vector<std::string> triggers;
  std::string sel = after(page.body, "id=\"trigger\">", "</select>");
  for (size_t p = sel.find("value=\""); p != std::string::npos; p = sel.find("value=\"", p + 1))
    triggers.push_back(sel.substr(p + 7, sel.find('"', p + 7) - p - 7));
  BOOST_TEST_REQUIRE(triggers.size() >= webhooks::handled_triggers().size());
  for (const auto& t : triggers) {
    auto r = http("GET", base_url() + "/cal-webhook-test?trigger=" + t, a.cookie);
    BOOST_TEST(r.status == 200, t);
    auto b = json::parse(textarea_body(r.body));
    BOOST_TEST_REQUIRE(b.ok(), t);
    BOOST_TEST((*b)["triggerEvent"].asString() == t);
    BOOST_TEST(webhooks::idempotency_key(*b).ok(), t);
  }
  // Bad input: 400 pages that keep the top bar.
  auto bad = http("GET", base_url() + "/cal-webhook-test?trigger=NOT%20A%20TRIGGER", a.cookie);
  BOOST_TEST(bad.status == 400);
  auto bad_coach = http("GET", base_url() + "/cal-webhook-test?coach=abc", a.cookie);
  BOOST_TEST(bad_coach.status == 400);
  auto bad_sub = post(a, "/cal-webhook-test", {{"trigger", "PING"}, {"body", "{\"triggerEvent\":\"PING\"}"}, {"secret", "sub:999999999"}});
  BOOST_TEST(bad_sub.status == 404);
  BOOST_TEST(has(bad_sub.body, "unknown_subscription"));
  // Not JSON is sent as typed; the receiver answers 400 and stores nothing.
  auto not_json = post(a, "/cal-webhook-test", {{"trigger", "PING"}, {"body", "{not json"}, {"secret", "configured"}});
  BOOST_TEST(not_json.status == 200);
  BOOST_TEST(has(not_json.body, ">400<"), not_json.body.substr(0, 3000));
  BOOST_TEST(has(not_json.body, "id=\"no-inbox-row\""));
}

BOOST_FIXTURE_TEST_CASE(default_setup_pressed_twice_leaves_one_webhook, Fx) {
  Browser c = coach();
  auto first = post(c, "/cal-webhook-management", {{"action", "setup_default"}, {"scope", "user"}});
  BOOST_TEST_REQUIRE(first.status == 200, first.body.substr(0, 3000));
  BOOST_TEST(has(first.body, "A new webhook was created on Cal.com."));
  BOOST_TEST(has(first.body, "id=\"setup-count\"><strong>1<"));
  auto second = post(c, "/cal-webhook-management", {{"action", "setup_default"}, {"scope", "user"}});
  BOOST_TEST_REQUIRE(second.status == 200, second.body.substr(0, 3000));
  BOOST_TEST(has(second.body, "Already set up: nothing was created."), second.body.substr(0, 3000));
  BOOST_TEST(has(second.body, "id=\"setup-count\"><strong>1<"));
  BOOST_TEST(count_of(second.body, "class=\"webhook-row\"") == 1u);
  BOOST_TEST(has(second.body, "id=\"sync-user\""));  // our row matches Cal.com's
  // The API agrees: one subscription of ours, one webhook on Cal.com.
  auto ours = http("GET", base_url() + "/api/cal/webhooks", c.bearer);
  BOOST_TEST_REQUIRE(ours.status == 200, ours.body);
  BOOST_TEST(ours.json()["data"].size() == 1u);
  auto remote = http("GET", base_url() + "/api/cal/webhooks/remote", c.bearer);
  BOOST_TEST_REQUIRE(remote.status == 200, remote.body);
  BOOST_TEST(remote.json()["data"].size() == 1u);
  // Admins may not be coaches, but only admins touch the platform scope.
  auto platform = post(c, "/cal-webhook-management", {{"action", "setup_default"}, {"scope", "platform"}});
  BOOST_TEST(platform.status == 403);
}

BOOST_FIXTURE_TEST_CASE(drift_with_cal_com_is_flagged_and_default_setup_adopts, Fx) {
  Browser c = coach();
  auto setup = post(c, "/cal-webhook-management", {{"action", "setup_default"}, {"scope", "user"}});
  BOOST_TEST_REQUIRE(setup.status == 200, setup.body.substr(0, 2000));
  const std::string sid = after(setup.body, "The webhook</th><td>#", " ");
  const std::string cal_id = after(setup.body, "id=\"webhook-" + sid + "\" class=\"webhook-row\" data-active=\"1\" data-cal-id=\"");
  BOOST_TEST_REQUIRE(!cal_id.empty(), setup.body.substr(0, 4000));
  // Change things behind our back, straight on Cal.com as the coach.
  calcom::Client cal(calcom::settings_from(cfg()));
  auto token = integration::access_token(cfg(), db, cal, c.id);
  BOOST_TEST_REQUIRE(token.ok());
  Headers as_coach = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}};
  auto patch = http("PATCH", cfg().cal_api_base_url + "/v2/webhooks/" + cal_id, as_coach, R"({"active":false})");
  BOOST_TEST_REQUIRE(patch.status == 200, patch.body);
  auto extra = http("POST", cfg().cal_api_base_url + "/v2/webhooks", as_coach,
                    R"({"subscriberUrl":"https://elsewhere.example.test/hook","active":true,"triggers":["BOOKING_CREATED"]})");
  BOOST_TEST_REQUIRE(extra.status == 201, extra.body);
  auto page = http("GET", base_url() + "/cal-webhook-management", c.cookie);
  BOOST_TEST_REQUIRE(page.status == 200);
  BOOST_TEST(has(page.body, "id=\"drift-user\">2 difference(s) with Cal.com"), page.body.substr(0, 5000));
  BOOST_TEST(has(page.body, "Cal.com has it inactive"));
  BOOST_TEST(has(page.body, "https://elsewhere.example.test/hook"));
  BOOST_TEST(count_of(page.body, "class=\"remote-only-row\"") == 1u);

  // Ours disappears from Cal.com; one with our receiver URL that we never made appears.
  BOOST_TEST(http("DELETE", cfg().cal_api_base_url + "/v2/webhooks/" + cal_id, as_coach).status == 200);
  auto stray = http("POST", cfg().cal_api_base_url + "/v2/webhooks", as_coach,
                    R"({"subscriberUrl":")" + webhooks::receiver_url(cfg()) + R"(","active":true,"triggers":["BOOKING_CREATED"]})");
  BOOST_TEST_REQUIRE(stray.status == 201, stray.body);
  page = http("GET", base_url() + "/cal-webhook-management", c.cookie);
  BOOST_TEST(has(page.body, "Cal.com does not list this webhook"));
  BOOST_TEST(count_of(page.body, "class=\"remote-only-row\"") == 2u);
  auto adopt = post(c, "/cal-webhook-management", {{"action", "setup_default"}, {"scope", "user"}});
  BOOST_TEST_REQUIRE(adopt.status == 200, adopt.body.substr(0, 3000));
  BOOST_TEST(has(adopt.body, "was adopted"));
  BOOST_TEST(has(adopt.body, "id=\"setup-count\"><strong>1<"));
  BOOST_TEST(count_of(adopt.body, "class=\"webhook-row\"") == 1u);
  BOOST_TEST(!has(adopt.body, "id=\"webhook-" + sid + "\""));      // the stale row is gone
  BOOST_TEST(count_of(adopt.body, "class=\"remote-only-row\"") == 1u);  // only the foreign URL is left
}

BOOST_FIXTURE_TEST_CASE(webhook_is_created_updated_and_deleted_through_the_forms, Fx) {
  Browser c = coach();
  const std::string url = "https://hooks.example.test/coach-" + std::to_string(c.id);
  auto none = post(c, "/cal-webhook-management", {{"action", "create"}, {"scope", "user"}, {"subscriber_url", url}, {"active", "1"}});
  BOOST_TEST(none.status == 400);
  BOOST_TEST(has(none.body, "Tick at least one trigger"));
  BOOST_TEST(has(none.body, "value=\"" + url + "\""));  // what was typed is kept
  auto bad_url = post(c, "/cal-webhook-management",
                      {{"action", "create"}, {"scope", "user"}, {"subscriber_url", "ftp://x"}, {"t_BOOKING_CREATED", "1"}});
  BOOST_TEST(bad_url.status == 400);

  auto created = post(c, "/cal-webhook-management", {{"action", "create"}, {"scope", "user"}, {"subscriber_url", url},
                                                      {"t_BOOKING_CREATED", "1"}, {"t_BOOKING_CANCELLED", "1"}, {"active", "1"}});
  BOOST_TEST_REQUIRE(created.status == 200, created.body.substr(0, 3000));
  std::string sid = after(created.body, "Webhook #", " ");
  BOOST_TEST_REQUIRE(!sid.empty());
  BOOST_TEST(has(created.body, "id=\"webhook-" + sid + "\" class=\"webhook-row\" data-active=\"1\""));
  BOOST_TEST(has(created.body, "2 of "));

  auto updated = post(c, "/cal-webhook-management", {{"action", "update"}, {"subscription_id", sid}, {"subscriber_url", url},
                                                      {"t_BOOKING_CREATED", "1"}, {"t_MEETING_ENDED", "1"}, {"t_BOOKING_CANCELLED", "1"}});
  BOOST_TEST_REQUIRE(updated.status == 200, updated.body.substr(0, 3000));
  BOOST_TEST(has(updated.body, "id=\"webhook-" + sid + "\" class=\"webhook-row\" data-active=\"0\""));
  BOOST_TEST(has(updated.body, "3 of "));
  auto remote = http("GET", base_url() + "/api/cal/webhooks/remote", c.bearer).json()["data"];
  BOOST_TEST_REQUIRE(remote.size() == 1u);
  BOOST_TEST(remote[0]["active"].asBool() == false);
  BOOST_TEST(remote[0]["triggers"].size() == 3u);

  // Someone else's webhook is not ours to touch.
  Browser other = coach();
  auto foreign = post(other, "/cal-webhook-management", {{"action", "delete"}, {"subscription_id", sid}});
  BOOST_TEST(foreign.status == 404);

  auto deleted = post(c, "/cal-webhook-management", {{"action", "delete"}, {"subscription_id", sid}});
  BOOST_TEST_REQUIRE(deleted.status == 200, deleted.body.substr(0, 2000));
  BOOST_TEST(!has(deleted.body, "id=\"webhook-" + sid + "\""));
  BOOST_TEST(http("GET", base_url() + "/api/cal/webhooks/remote", c.bearer).json()["data"].size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(dead_letter_is_replayed_from_the_monitor, Fx) {
  Browser a = admin();
  // A BOOKING_CREATED without a uid: stored, but applying it fails every time.
  Json::Value body;
  body["triggerEvent"] = "BOOKING_CREATED";
  body["createdAt"] = "2026-03-02T09:14:07.512Z";
  body["payload"]["title"] = "no uid " + crypto::random_hex(6);
  body["payload"]["startTime"] = "2026-03-10T15:00:00Z";
  body["payload"]["endTime"] = "2026-03-10T16:00:00Z";
  const std::string raw = json::write(body);
  auto rec = http("POST", base_url() + webhooks::kReceiverPath,
                  {{"Content-Type", "application/json"}, {"X-Cal-Signature-256", webhooks::sign_body(cfg().cal_webhook_secret, raw)}},
                  raw);
  BOOST_TEST_REQUIRE(rec.status == 200, rec.body);
  auto key = webhooks::idempotency_key(body);
  auto row = db.query_one("SELECT id, status FROM webhook_inbox WHERE idempotency_key = ?", {*key});
  BOOST_TEST_REQUIRE(row.has_value());
  const std::string id = row->str("id");
  BOOST_TEST(row->str("status") != "done");
  // Park it as a dead letter now rather than waiting out eight backoffs.
  db.exec("UPDATE webhook_inbox SET status = 'dead', attempts = max_attempts, last_error = 'test: parked' WHERE id = ?", {row->i64("id")});

  auto monitor = http("GET", base_url() + "/cal-webhook-monitor", a.cookie);
  BOOST_TEST_REQUIRE(monitor.status == 200);
  BOOST_TEST(has(monitor.body, "id=\"dead-" + id + "\""));
  BOOST_TEST(has(monitor.body, "id=\"btn-replay-" + id + "\""));
  auto filtered = http("GET", base_url() + "/cal-webhook-monitor?status=dead&trigger=BOOKING_CREATED&limit=200", a.cookie);
  BOOST_TEST(has(filtered.body, "id=\"inbox-" + id + "\" data-status=\"dead\""));
  BOOST_TEST(!has(filtered.body, "data-status=\"done\""));
  BOOST_TEST(has(filtered.body, body["payload"]["title"].asString()));  // the raw body is there

  auto replay = post(a, "/cal-webhook-monitor", {{"action", "replay"}, {"event_id", id}});
  BOOST_TEST_REQUIRE(replay.status == 200, replay.body.substr(0, 2000));
  BOOST_TEST(has(replay.body, "Event #" + id + " queued again: dead → pending"), replay.body.substr(0, 2000));
  std::string st = db.query_one("SELECT status FROM webhook_inbox WHERE id = ?", {row->i64("id")})->str("status");
  BOOST_TEST(st != "dead");
  // Run the worker from the page: it fails again, now as a fresh first attempt.
  db.exec("UPDATE webhook_inbox SET next_attempt_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND status IN ('pending','retry')", {row->i64("id")});
  auto work = post(a, "/cal-webhook-monitor", {{"action", "process_due"}});
  BOOST_TEST(work.status == 200);
  auto after_row = db.query_one("SELECT status, attempts FROM webhook_inbox WHERE id = ?", {row->i64("id")});
  BOOST_TEST(after_row->str("status") == "retry");
  BOOST_TEST(after_row->i64("attempts") == 1);

  // Replay all dead: park it again, replay everything.
  db.exec("UPDATE webhook_inbox SET status = 'dead' WHERE id = ?", {row->i64("id")});
  auto all = post(a, "/cal-webhook-monitor", {{"action", "replay_all"}});
  BOOST_TEST(all.status == 200);
  BOOST_TEST(has(all.body, "dead letter(s) queued again"));
  BOOST_TEST(db.query_one("SELECT status FROM webhook_inbox WHERE id = ?", {row->i64("id")})->str("status") != "dead");

  auto unknown = post(a, "/cal-webhook-monitor", {{"action", "replay"}, {"event_id", "999999999"}});
  BOOST_TEST(unknown.status == 404);
  auto detail = http("GET", base_url() + "/cal-webhook-monitor?event=" + id, a.cookie);
  BOOST_TEST(has(detail.body, "id=\"event-detail\""));
  BOOST_TEST(http("GET", base_url() + "/cal-webhook-monitor?status=bogus", a.cookie).status == 400);
  BOOST_TEST(http("GET", base_url() + "/cal-webhook-monitor?event=999999999", a.cookie).status == 404);
}

BOOST_FIXTURE_TEST_CASE(monitor_pages_through_the_inbox, Fx) {
  Browser a = admin();
  for (int i = 0; i < 3; ++i) send_sample(a, "PING", "configured");
  auto first = http("GET", base_url() + "/cal-webhook-monitor?trigger=PING&limit=2", a.cookie);
  BOOST_TEST_REQUIRE(first.status == 200);
  BOOST_TEST(count_of(first.body, "class=\"inbox-event\"") == 2u);
  BOOST_TEST(count_of(first.body, "data-trigger=\"PING\"") == 2u);
  size_t end = first.body.find("\" id=\"older\"");
  BOOST_TEST_REQUIRE(end != std::string::npos);
  size_t start = first.body.rfind("href=\"", end) + 6;
  std::string older = html_unescape(first.body.substr(start, end - start));
  BOOST_TEST_REQUIRE(older.rfind("/cal-webhook-monitor?", 0) == 0u, older);
  auto second = http("GET", base_url() + older, a.cookie);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(count_of(second.body, "class=\"inbox-event\"") >= 1u);
  BOOST_TEST(has(second.body, "← Newest"));
  BOOST_TEST(has(first.body, "id=\"hourly\""));
  BOOST_TEST(has(first.body, "id=\"latency-p50\""));
}
