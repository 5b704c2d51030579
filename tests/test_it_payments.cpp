/* test_it_payments.cpp: payments for priced bookings through nginx against the
 * Stripe and Cal.com emulators, MariaDB and the worker: checkout -> pay ->
 * signed webhook -> booking + receipt; bad and stale signatures; duplicate and
 * out-of-order events; payment after the slot was lost (automatic refund);
 * concurrent cancellations (one refund); refund policy and quote; JPY end to
 * end; expired checkout releasing the slot; admin refunds. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE payments
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ctime>
#include <functional>
#include <thread>

#include "calcom_client.hpp"
#include "http.hpp"
#include "stripe_sig.hpp"
#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

std::string stripe_url() { return env_or("COACH_STRIPE_URL", cfg().stripe_api_base_url); }

Http stripe_ctl(const std::string& path, const std::string& body = "{}") {
  return http("POST", stripe_url() + path, {{"Content-Type", "application/json"}}, body);
}

/* Polls f every 250 ms for up to timeout_s; true once it holds. */
struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() {
    http_client::global_init();
    stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"normal\"}");
  }
  ~Fx() {
    try {
      stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"normal\"}");
      stripe_ctl("/_emulator/refund-default-status", "{\"status\":\"succeeded\"}");
    } catch (...) {
    }
  }

  Person person(const std::string& role, const std::string& tz = "Europe/London") { return signed_in(db, role, tz); }
  Person new_coach() { return onboarded_coach(db); }
  int64_t create_type(const Person& c, const std::string& slug, int64_t price, const std::string& currency = "USD") {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"Session " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":60,\"priceMinor\":" +
                      std::to_string(price) + ",\"currency\":\"" + currency + "\"}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  std::vector<std::string> slot_starts(const Person& c, int64_t et, const std::string& day) {
    return day_slot_instants(c.id, et, day);
  }
  Http book(const Person& agent, const Person& c, int64_t et, const std::string& start, const std::string& key) {
    return http("POST", base_url() + "/api/cal/bookings", agent.json,
                "{\"coachId\":" + std::to_string(c.id) + ",\"eventTypeId\":" + std::to_string(et) + ",\"start\":\"" +
                    start + "\",\"timeZone\":\"America/New_York\",\"idempotencyKey\":\"" + key + "\"}");
  }
  Json::Value payment(const Person& who, int64_t pid) {
    auto r = http("GET", base_url() + "/api/payments/" + std::to_string(pid), who.auth);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["data"];
  }
  db::Row row(int64_t pid) {
    auto r = db.query_one("SELECT status, is_paid, finalize_state, booking_uid, invoice_number, refunded_minor, "
                          "amount_paid_minor, intent_id FROM payments WHERE id = ?",
                          {pid});
    BOOST_TEST_REQUIRE(r.has_value());
    return *r;
  }
  bool booked(int64_t pid) { return row(pid).str("finalize_state") == "booked"; }
  /* Pays in the emulator (as the customer) and waits for the booking. */
  std::string pay_and_wait(const Person& agent, int64_t pid, const std::string& cs) {
    auto p = stripe_ctl("/_emulator/checkout/" + cs + "/pay", "{\"outcome\":\"success\"}");
    BOOST_TEST_REQUIRE(p.status == 200, p.body);
    BOOST_TEST_REQUIRE(eventually([&] { return booked(pid); }), "no booking after the payment: " + row(pid).str("finalize_state"));
    auto j = payment(agent, pid);
    return j["bookingUid"].asString();
  }
  int64_t count(const std::string& sql, const std::vector<db::Param>& params) {
    return db.query_one(sql, params)->i64("n");
  }
  /* A full priced booking: coach, type, agent, 202 + paid + booked. */
  struct Booked {
    Person coach, agent;
    int64_t et = 0, pid = 0;
    std::string uid, cs, start;
  };
  Booked booked_session(const std::string& slug, int64_t price, const std::string& currency = "USD", int weekday = 2) {
    Booked b;
    b.coach = new_coach();
    b.agent = person("agent");
    b.et = create_type(b.coach, slug, price, currency);
    auto starts = slot_starts(b.coach, b.et, future_weekday(weekday, 8));
    BOOST_TEST_REQUIRE(starts.size() >= 3u);
    b.start = starts[1];
    auto r = book(b.agent, b.coach, b.et, b.start, "k-" + crypto::random_hex(6));
    BOOST_TEST_REQUIRE(r.status == 202, r.body);
    b.pid = r.json()["data"]["paymentId"].asInt64();
    b.cs = r.json()["data"]["checkoutSessionId"].asString();
    b.uid = pay_and_wait(b.agent, b.pid, b.cs);
    BOOST_TEST_REQUIRE(!b.uid.empty());
    return b;
  }
  /* POSTs a signed event to our webhook. */
  Http send_event(const Json::Value& ev, int64_t t = 0, const std::string& secret = "") {
    const std::string body = json::write(ev);
    if (!t) t = static_cast<int64_t>(std::time(nullptr));
    const std::string hdr = stripe_sig::header_for(secret.empty() ? cfg().stripe_webhook_secret : secret, t, body);
    return http("POST", base_url() + "/api/stripe/webhook",
                {{"Content-Type", "application/json"}, {"Stripe-Signature", hdr}}, body);
  }
};

Json::Value event(const std::string& type, const Json::Value& obj) {
  Json::Value ev;
  ev["id"] = "evt_test_" + crypto::random_hex(10);
  ev["object"] = "event";
  ev["type"] = type;
  ev["created"] = Json::Int64(std::time(nullptr));
  ev["data"]["object"] = obj;
  return ev;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(priced_booking_checkout_pay_webhook_booking_receipt, Fx) {
  Person coach = new_coach(), agent = person("agent"), other = person("agent");
  int64_t et = create_type(coach, "paid", 9900);
  auto starts = slot_starts(coach, et, future_weekday(2, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 3u);
  const std::string key = "k-" + crypto::random_hex(6);
  auto r = book(agent, coach, et, starts[2], key);
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  auto d = r.json()["data"];
  BOOST_TEST(d["status"].asString() == "payment_required");
  const int64_t pid = d["paymentId"].asInt64();
  const std::string cs = d["checkoutSessionId"].asString();
  BOOST_TEST(d["checkoutUrl"].asString().find("/pay/" + cs) != std::string::npos);
  BOOST_TEST(d["expiresAt"].asInt64() > std::time(nullptr) + 29 * 60);

  // Nothing booked yet; the slot is held (not offered, our intent active until after the checkout expiry).
  BOOST_TEST(row(pid).str("status") == "pending");
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ?", {coach.id}) == 0);
  auto held = db.query_one("SELECT active_start_utc IS NOT NULL AS active, expires_at > CURRENT_TIMESTAMP + INTERVAL 30 MINUTE AS long_hold "
                           "FROM booking_intents WHERE id = ?", {row(pid).i64("intent_id")});
  BOOST_TEST(held->i64("active") == 1);
  BOOST_TEST(held->i64("long_hold") == 1);
  auto taken = book(other, coach, et, starts[2], "k-" + crypto::random_hex(6));
  BOOST_TEST(taken.status == 409, taken.body);

  // The same key again: the same checkout, not a second one.
  auto again = book(agent, coach, et, starts[2], key);
  BOOST_TEST_REQUIRE(again.status == 202, again.body);
  BOOST_TEST(again.json()["data"]["paymentId"].asInt64() == pid);
  BOOST_TEST(again.json()["data"]["checkoutSessionId"].asString() == cs);

  // The emulator's session carries our price, currency and metadata.
  auto st = http("GET", stripe_url() + "/v1/checkout/sessions/" + cs, {{"Authorization", "Bearer " + cfg().stripe_secret_key}});
  BOOST_TEST_REQUIRE(st.status == 200, st.body);
  BOOST_TEST(st.json()["amount_total"].asInt64() == 9900);
  BOOST_TEST(st.json()["currency"].asString() == "usd");
  BOOST_TEST(st.json()["metadata"]["payment_id"].asString() == std::to_string(pid));

  // Someone else cannot see the payment.
  BOOST_TEST(http("GET", base_url() + "/api/payments/" + std::to_string(pid), other.auth).status == 404);

  const std::string uid = pay_and_wait(agent, pid, cs);
  auto p = payment(agent, pid);
  BOOST_TEST(p["status"].asString() == "paid");
  BOOST_TEST(p["amountPaidMinor"].asInt64() == 9900);
  BOOST_TEST(p["invoiceNumber"].asInt64() > 0);
  BOOST_TEST(!p["paymentIntentId"].asString().empty());
  auto b = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.auth);
  BOOST_TEST_REQUIRE(b.status == 200, b.body);
  BOOST_TEST(b.json()["data"]["status"].asString() == "accepted");
  BOOST_TEST(b.json()["data"]["payment"]["status"].asString() == "paid");
  BOOST_TEST(b.json()["data"]["payment"]["amountPaidMinor"].asInt64() == 9900);
  const std::string receipt = b.json()["data"]["payment"]["receiptUrl"].asString();
  BOOST_TEST(receipt == "/receipts/" + std::to_string(p["invoiceNumber"].asInt64()));
  // The coach sees the payment status too.
  auto bc = http("GET", base_url() + "/api/cal/bookings/" + uid, coach.auth);
  BOOST_TEST(bc.json()["data"]["payment"]["status"].asString() == "paid");

  // The receipt: agent and coach yes, others no.
  auto rp = http("GET", base_url() + receipt, agent.auth);
  BOOST_TEST_REQUIRE(rp.status == 200, rp.body);
  BOOST_TEST(rp.body.find("99.00 USD") != std::string::npos);
  BOOST_TEST(rp.body.find(std::to_string(p["invoiceNumber"].asInt64())) != std::string::npos);
  BOOST_TEST(http("GET", base_url() + receipt, coach.auth).status == 200);
  BOOST_TEST(http("GET", base_url() + receipt, other.auth).status == 404);
  // Receipt e-mail queued once; the booking e-mails as for a free booking.
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'payment_email' AND idempotency_key = ?",
                   {"pmail:" + std::to_string(pid) + ":receipt"}) == 1);
  // The receipt e-mail is sent by the worker.
  BOOST_TEST(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key = ? AND status = 'done'",
                 {"pmail:" + std::to_string(pid) + ":receipt"}) == 1;
  }));
  // The Stripe receipt link arrives with charge.succeeded.
  BOOST_TEST(eventually([&] { return !payment(agent, pid)["stripeReceiptUrl"].asString().empty(); }, 10));
}

BOOST_FIXTURE_TEST_CASE(bad_and_stale_signatures_are_400_and_store_nothing, Fx) {
  Json::Value ev = event("customer.created", Json::Value(Json::objectValue));
  ev["data"]["object"]["id"] = "cus_x";
  const std::string id = ev["id"].asString();
  auto wrong = send_event(ev, 0, "whsec_wrong_secret");
  BOOST_TEST(wrong.status == 400, wrong.body);
  BOOST_TEST(wrong.json()["error"]["code"].asString() == "invalid_signature");
  auto stale = send_event(ev, std::time(nullptr) - 400);
  BOOST_TEST(stale.status == 400, stale.body);
  auto none = http("POST", base_url() + "/api/stripe/webhook", {{"Content-Type", "application/json"}}, json::write(ev));
  BOOST_TEST(none.status == 400);
  const std::string body = json::write(ev);
  const int64_t t = std::time(nullptr);
  auto tampered = http("POST", base_url() + "/api/stripe/webhook",
                       {{"Content-Type", "application/json"},
                        {"Stripe-Signature", stripe_sig::header_for(cfg().stripe_webhook_secret, t, body)}},
                       body + " ");
  BOOST_TEST(tampered.status == 400);
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM stripe_events WHERE event_id = ?", {id}) == 0);

  // Valid: stored once; a second delivery is a duplicate.
  auto ok = send_event(ev);
  BOOST_TEST(ok.status == 200, ok.body);
  auto dup = send_event(ev);
  BOOST_TEST(dup.status == 200);
  BOOST_TEST(dup.json()["duplicate"].asBool());
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM stripe_events WHERE event_id = ?", {id}) == 1);
  // Several v1 (a secret roll) and a v0 are fine.
  Json::Value ev2 = event("customer.created", ev["data"]["object"]);
  const std::string b2 = json::write(ev2);
  const std::string hdr = "t=" + std::to_string(t) + ",v1=" + std::string(64, '0') + ",v1=" +
                          stripe_sig::sign(cfg().stripe_webhook_secret, t, b2) + ",v0=abc";
  auto roll = http("POST", base_url() + "/api/stripe/webhook", {{"Content-Type", "application/json"}, {"Stripe-Signature", hdr}}, b2);
  BOOST_TEST(roll.status == 200, roll.body);
  // GET is not allowed.
  BOOST_TEST(http("GET", base_url() + "/api/stripe/webhook").status == 405);
}

BOOST_FIXTURE_TEST_CASE(duplicate_and_shuffled_deliveries_are_applied_once, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "dups", 12500);
  auto starts = slot_starts(coach, et, future_weekday(3, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto r = book(agent, coach, et, starts[0], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  const int64_t pid = r.json()["data"]["paymentId"].asInt64();
  const std::string cs = r.json()["data"]["checkoutSessionId"].asString();
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"duplicate\"}").status == 200);
  // A decline first (payment_failed), then success: all events delivered twice.
  BOOST_TEST(stripe_ctl("/_emulator/checkout/" + cs + "/pay", "{\"outcome\":\"decline\"}").status == 200);
  BOOST_TEST(eventually([&] { return row(pid).str("status") == "failed"; }, 10));
  BOOST_TEST(stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"shuffle\"}").status == 200);
  const std::string uid = pay_and_wait(agent, pid, cs);
  auto p = row(pid);
  BOOST_TEST(p.str("status") == "paid");   // a late payment_failed never downgrades
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key = ?", {"finalize:" + std::to_string(pid)}) == 1);
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM payments WHERE invoice_number = ?", {p.i64("invoice_number")}) == 1);
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ? AND status = 'accepted'", {coach.id}) == 1);
  // Every delivered event id is stored exactly once.
  auto dl = http("GET", stripe_url() + "/_emulator/deliveries");
  BOOST_TEST_REQUIRE(dl.status == 200);
  int checked = 0;
  const Json::Value dlj = dl.json();
  for (const auto& d : dlj["deliveries"]) {
    const std::string eid = d["event_id"].asString();
    if (eid.empty()) continue;
    int64_t n = count("SELECT COUNT(*) AS n FROM stripe_events WHERE event_id = ?", {eid});
    BOOST_TEST(n <= 1);
    ++checked;
  }
  BOOST_TEST(checked > 0);
  (void)uid;
}

BOOST_FIXTURE_TEST_CASE(out_of_order_refund_before_completion_is_not_lost, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "order", 8000);
  auto starts = slot_starts(coach, et, future_weekday(4, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto r = book(agent, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  const int64_t pid = r.json()["data"]["paymentId"].asInt64();
  const std::string cs = r.json()["data"]["checkoutSessionId"].asString();
  const std::string pi = "pi_test_" + crypto::random_hex(8);
  // charge.refunded (1000) arrives before Stripe's checkout.session.completed.
  Json::Value ch;
  ch["id"] = "ch_test_" + crypto::random_hex(8);
  ch["object"] = "charge";
  ch["payment_intent"] = pi;
  ch["amount"] = 8000;
  ch["amount_refunded"] = 1000;
  ch["refunded"] = false;
  auto e1 = send_event(event("charge.refunded", ch));
  BOOST_TEST(e1.status == 200, e1.body);
  BOOST_TEST(row(pid).str("status") == "pending");
  Json::Value s;
  s["id"] = cs;
  s["object"] = "checkout.session";
  s["status"] = "complete";
  s["payment_status"] = "paid";
  s["payment_intent"] = pi;
  s["amount_total"] = 8000;
  s["metadata"]["payment_id"] = std::to_string(pid);
  auto e2 = send_event(event("checkout.session.completed", s));
  BOOST_TEST(e2.status == 200, e2.body);
  BOOST_TEST(row(pid).i64("is_paid") == 1);
  // A late payment_failed does not downgrade.
  Json::Value f;
  f["id"] = pi;
  f["object"] = "payment_intent";
  f["status"] = "requires_payment_method";
  f["last_payment_error"]["message"] = "Your card was declined.";
  BOOST_TEST(send_event(event("payment_intent.payment_failed", f)).status == 200);
  // The worker retries the early refund event: it now matches.
  BOOST_TEST(eventually([&] { return row(pid).str("status") == "partially_refunded"; }, 30), row(pid).str("status"));
  BOOST_TEST(row(pid).i64("refunded_minor") == 1000);
}

BOOST_FIXTURE_TEST_CASE(paid_after_the_slot_was_lost_is_refunded_in_full, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "lost", 9900);
  auto starts = slot_starts(coach, et, future_weekday(1, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto r = book(agent, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  const int64_t pid = r.json()["data"]["paymentId"].asInt64();
  const std::string cs = r.json()["data"]["checkoutSessionId"].asString();
  // Someone books the same time directly on Cal.com while the agent pays.
  calcom::Client cal(calcom::settings_from(cfg()));
  Json::Value body;
  body["start"] = starts[1];
  body["eventTypeId"] = Json::Int64(et);
  body["attendee"]["name"] = "Walk-in";
  body["attendee"]["email"] = "walkin-" + crypto::random_hex(4) + "@example.test";
  body["attendee"]["timeZone"] = "UTC";
  auto direct = cal.call("POST", "/v2/bookings", &body, "", "2024-08-13");
  const std::string why = direct.ok() ? std::string() : direct.error().message;
  BOOST_TEST_REQUIRE(direct.ok(), why);

  auto p = stripe_ctl("/_emulator/checkout/" + cs + "/pay", "{\"outcome\":\"success\"}");
  BOOST_TEST_REQUIRE(p.status == 200, p.body);
  BOOST_TEST_REQUIRE(eventually([&] { return row(pid).str("finalize_state") == "slot_lost"; }), row(pid).str("finalize_state"));
  BOOST_TEST(eventually([&] { return row(pid).str("status") == "refunded"; }), row(pid).str("status"));
  auto rf = db.query_one("SELECT COUNT(*) AS n, SUM(amount_minor) AS total, MAX(status) AS st, MAX(reason) AS why "
                         "FROM payment_refunds WHERE payment_id = ?", {pid});
  BOOST_TEST(rf->i64("n") == 1);
  BOOST_TEST(rf->i64("total") == 9900);
  BOOST_TEST(rf->str("st") == "succeeded");
  BOOST_TEST(rf->str("why") == "slot_lost");
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'payment_email' AND idempotency_key = ?",
                   {"pmail:" + std::to_string(pid) + ":slot_lost"}) == 1);
  // No booking of ours for it, the hold released.
  BOOST_TEST(row(pid).is_null("booking_uid"));
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM booking_intents WHERE id = ? AND active_start_utc IS NOT NULL",
                   {row(pid).i64("intent_id")}) == 0);
  // The page says so.
  auto page = http("GET", base_url() + "/book/paid?session_id=" + cs, agent.auth);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("data-state=\"slot_lost\"") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(hold_expired_and_slot_taken_meanwhile_is_refunded, Fx) {
  Person coach = new_coach(), a = person("agent"), b = person("agent");
  int64_t et = create_type(coach, "lapse", 4000);
  auto starts = slot_starts(coach, et, future_weekday(5, 8));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto ra = book(a, coach, et, starts[0], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(ra.status == 202, ra.body);
  const int64_t pa = ra.json()["data"]["paymentId"].asInt64();
  const std::string csa = ra.json()["data"]["checkoutSessionId"].asString();
  // A's hold lapses (as if the agent took too long) and its Cal.com reservation is gone.
  auto intent = db.query_one("SELECT id, reservation_uid FROM booking_intents WHERE id = ?", {row(pa).i64("intent_id")});
  db.exec("UPDATE booking_intents SET expires_at = CURRENT_TIMESTAMP - INTERVAL 1 SECOND WHERE id = ?", {intent->i64("id")});
  if (!intent->str("reservation_uid").empty()) {
    calcom::Client cal(calcom::settings_from(cfg()));
    cal.call("DELETE", "/v2/slots/reservations/" + intent->str("reservation_uid"), nullptr, "", "2024-09-04");
  }
  // B takes the slot and pays first.
  auto rb = book(b, coach, et, starts[0], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(rb.status == 202, rb.body);
  const int64_t pb = rb.json()["data"]["paymentId"].asInt64();
  pay_and_wait(b, pb, rb.json()["data"]["checkoutSessionId"].asString());
  // A pays late: refunded, B keeps the booking.
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/checkout/" + csa + "/pay", "{\"outcome\":\"success\"}").status == 200);
  BOOST_TEST(eventually([&] { return row(pa).str("status") == "refunded"; }), row(pa).str("status"));
  BOOST_TEST(row(pa).str("finalize_state") == "slot_lost");
  BOOST_TEST(row(pb).str("finalize_state") == "booked");
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ? AND status = 'accepted'", {coach.id}) == 1);
}

BOOST_FIXTURE_TEST_CASE(concurrent_cancellations_give_exactly_one_refund, Fx) {
  auto s = booked_session("conc", 9900);
  // More than 24 h ahead: the agent's cancellation refunds in full; the quote says so first.
  auto q = http("GET", base_url() + "/api/payments/quote?booking=" + s.uid, s.agent.auth);
  BOOST_TEST_REQUIRE(q.status == 200, q.body);
  BOOST_TEST(q.json()["data"]["refundMinor"].asInt64() == 9900);
  BOOST_TEST(q.json()["data"]["percent"].asInt() == 100);
  std::vector<Http> res(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      const Person& who = i % 2 ? s.coach : s.agent;
      try {
        res[i] = http("POST", base_url() + "/api/cal/bookings/" + s.uid + "/cancel", who.json, "{\"reason\":\"race\"}");
      } catch (...) {
      }
    });
  for (auto& t : ts) t.join();
  int ok = 0, conflict = 0;
  for (const auto& r : res) {
    if (r.status == 200) ++ok;
    if (r.status == 409) ++conflict;
  }
  BOOST_TEST(ok == 1);
  BOOST_TEST(conflict == 3);
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "refunded"; }), row(s.pid).str("status"));
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM payment_refunds WHERE payment_id = ?", {s.pid}) == 1);
  BOOST_TEST(row(s.pid).i64("refunded_minor") == 9900);
  // Stripe saw exactly one refund for this payment intent.
  auto pi = payment(s.agent, s.pid)["paymentIntentId"].asString();
  auto st = http("GET", stripe_url() + "/v1/refunds?payment_intent=" + pi + "&limit=100",
                 {{"Authorization", "Bearer " + cfg().stripe_secret_key}});
  BOOST_TEST_REQUIRE(st.status == 200, st.body);
  BOOST_TEST(st.json()["data"].size() == 1u, st.body);
  // The receipt shows the refund.
  auto rp = http("GET", base_url() + "/receipts/" + std::to_string(row(s.pid).i64("invoice_number")), s.agent.auth);
  BOOST_TEST(rp.body.find("receipt-refunded") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(jpy_session_end_to_end_with_policy_refund, Fx) {
  auto s = booked_session("yen", 5001, "JPY", 4);
  BOOST_TEST(row(s.pid).i64("amount_paid_minor") == 5001);
  auto st = http("GET", stripe_url() + "/v1/checkout/sessions/" + s.cs, {{"Authorization", "Bearer " + cfg().stripe_secret_key}});
  BOOST_TEST(st.json()["currency"].asString() == "jpy");
  BOOST_TEST(st.json()["amount_total"].asInt64() == 5001);
  auto rp = http("GET", base_url() + "/receipts/" + std::to_string(row(s.pid).i64("invoice_number")), s.agent.auth);
  BOOST_TEST(rp.body.find("5001 JPY") != std::string::npos);
  BOOST_TEST(rp.body.find("50.01") == std::string::npos);
  // This session type's own policy: full refund only 500 h ahead, half from 24 h (the session is ~8 days out).
  auto bad = http("PATCH", base_url() + "/api/cal/event-types/" + std::to_string(s.et), s.coach.json,
                  "{\"refundPolicy\":\"24x:100\"}");
  BOOST_TEST(bad.status == 400, bad.body);
  BOOST_TEST(bad.body.find("24x:100") != std::string::npos, bad.body);
  auto set = http("PATCH", base_url() + "/api/cal/event-types/" + std::to_string(s.et), s.coach.json,
                  "{\"refundPolicy\":\"500h:100, 24h:50\"}");
  BOOST_TEST_REQUIRE(set.status == 200, set.body);
  BOOST_TEST(set.json()["data"]["refundPolicy"].asString() == "500h:100,24h:50");
  BOOST_TEST(set.json()["data"]["priceMinor"].asInt64() == 5001);   // the rest of the type is kept
  auto q = http("GET", base_url() + "/api/payments/quote?booking=" + s.uid, s.agent.auth);
  BOOST_TEST_REQUIRE(q.status == 200, q.body);
  BOOST_TEST(q.json()["data"]["refundMinor"].asInt64() == 2500);   // 2500.5 yen rounded down
  BOOST_TEST(q.json()["data"]["refundText"].asString() == "2500 JPY");
  // The cancel page shows it before confirming.
  auto cp = http("GET", base_url() + "/my/sessions/" + s.uid + "/cancel", s.agent.auth);
  BOOST_TEST(cp.body.find("2500 JPY") != std::string::npos);
  // The coach would refund in full.
  auto qc = http("GET", base_url() + "/api/payments/quote?booking=" + s.uid, s.coach.auth);
  BOOST_TEST(qc.json()["data"]["refundMinor"].asInt64() == 5001);
  auto c = http("POST", base_url() + "/api/cal/bookings/" + s.uid + "/cancel", s.agent.json, "{}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "partially_refunded"; }), row(s.pid).str("status"));
  BOOST_TEST(row(s.pid).i64("refunded_minor") == 2500);
  auto b = http("GET", base_url() + "/api/cal/bookings/" + s.uid, s.agent.auth);
  BOOST_TEST(b.json()["data"]["payment"]["amountRefundedMinor"].asInt64() == 2500);
}

BOOST_FIXTURE_TEST_CASE(expired_checkout_releases_the_slot, Fx) {
  Person coach = new_coach(), a = person("agent"), b = person("agent");
  int64_t et = create_type(coach, "expire", 3000);
  auto starts = slot_starts(coach, et, future_weekday(3, 9));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto ra = book(a, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(ra.status == 202, ra.body);
  const int64_t pa = ra.json()["data"]["paymentId"].asInt64();
  BOOST_TEST(book(b, coach, et, starts[1], "k-" + crypto::random_hex(6)).status == 409);
  auto x = stripe_ctl("/_emulator/checkout/" + ra.json()["data"]["checkoutSessionId"].asString() + "/expire");
  BOOST_TEST_REQUIRE(x.status == 200, x.body);
  BOOST_TEST(eventually([&] { return row(pa).str("status") == "expired"; }), row(pa).str("status"));
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM booking_intents WHERE id = ? AND active_start_utc IS NOT NULL",
                   {row(pa).i64("intent_id")}) == 0);
  // The reservation is dropped by the worker; then B can take the slot.
  BOOST_TEST(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key = ? AND status = 'done'",
                 {"release:" + std::to_string(pa)}) == 1;
  }));
  auto rb = book(b, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST(rb.status == 202, rb.body);
  // Nothing was charged for A.
  BOOST_TEST(row(pa).i64("is_paid") == 0);
  auto page = http("GET", base_url() + "/book/paid?payment=" + std::to_string(pa), a.auth);
  BOOST_TEST(page.body.find("data-state=\"expired\"") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(admin_manual_refund_up_to_the_remainder, Fx) {
  auto s = booked_session("manual", 10000);
  Person admin = person("admin");
  const std::string url = base_url() + "/api/payments/" + std::to_string(s.pid) + "/refund";
  BOOST_TEST(http("POST", url, s.agent.json, "{\"amountMinor\":100,\"idempotencyKey\":\"a1\"}").status == 403);
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":10001,\"idempotencyKey\":\"a1\"}").status == 400);
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":-5,\"idempotencyKey\":\"a1\"}").status == 400);
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":\"12\",\"idempotencyKey\":\"a1\"}").status == 400);
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":10000000000000000000,\"idempotencyKey\":\"a1\"}").status == 400);
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":100}").status == 400);
  auto r1 = http("POST", url, admin.json, "{\"amountMinor\":3000,\"idempotencyKey\":\"a1\"}");
  BOOST_TEST_REQUIRE(r1.status == 202, r1.body);
  auto r1b = http("POST", url, admin.json, "{\"amountMinor\":3000,\"idempotencyKey\":\"a1\"}");   // replay
  BOOST_TEST(r1b.status == 202);
  BOOST_TEST(r1b.json()["data"]["refundId"].asInt64() == r1.json()["data"]["refundId"].asInt64());
  BOOST_TEST(http("POST", url, admin.json, "{\"amountMinor\":7001,\"idempotencyKey\":\"a2\"}").status == 400);
  BOOST_TEST(eventually([&] { return row(s.pid).i64("refunded_minor") == 3000; }));
  BOOST_TEST(row(s.pid).str("status") == "partially_refunded");
  // The agent's cancellation now refunds at most what is left.
  auto q = http("GET", base_url() + "/api/payments/quote?booking=" + s.uid, s.agent.auth);
  BOOST_TEST(q.json()["data"]["refundMinor"].asInt64() == 7000);
  // Tax fields on the receipt when a rate was in force (stored on the payment when it was paid).
  db.exec("UPDATE payments SET tax_rate_bps = 2000, tax_name = 'VAT' WHERE id = ?", {s.pid});
  const std::string receipt = base_url() + "/receipts/" + std::to_string(row(s.pid).i64("invoice_number"));
  auto rp = http("GET", receipt, s.agent.auth);
  BOOST_TEST_REQUIRE(rp.status == 200);
  BOOST_TEST(rp.body.find("VAT (20.00 %, included)") != std::string::npos);
  BOOST_TEST(rp.body.find("16.67 USD") != std::string::npos);   // 100.00 with 20 % included
  BOOST_TEST(rp.body.find("83.33 USD") != std::string::npos);
  BOOST_TEST(rp.body.find("30.00 USD") != std::string::npos);   // the refund
  auto rj = http("GET", receipt + "?format=json", admin.auth);
  BOOST_TEST(rj.json()["data"]["refunded_minor"].asInt64() == 3000);
  // Bad input: readable errors, no crash.
  BOOST_TEST(http("GET", base_url() + "/receipts/abc", s.agent.auth).status == 404);
  BOOST_TEST(http("GET", base_url() + "/receipts/999999999", s.agent.auth).status == 404);
  BOOST_TEST(http("GET", base_url() + "/receipts/1").status != 200);   // anonymous
  BOOST_TEST(http("GET", base_url() + "/api/payments/quote", s.agent.auth).status == 400);
  BOOST_TEST(http("GET", base_url() + "/api/payments/quote?booking=nope", s.agent.auth).status == 404);
  BOOST_TEST(http("GET", base_url() + "/api/payments/xyz", s.agent.auth).status == 404);
  BOOST_TEST(http("POST", url, admin.auth, "{}").status == 415);
  BOOST_TEST(http("POST", url, admin.json, "not json").status == 400);
}

BOOST_FIXTURE_TEST_CASE(reschedule_keeps_the_payment, Fx) {
  auto s = booked_session("move", 6000, "EUR", 1);
  auto starts = slot_starts(s.coach, s.et, future_weekday(1, 15));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto r = http("POST", base_url() + "/api/cal/bookings/" + s.uid + "/reschedule", s.agent.json,
                "{\"start\":\"" + starts[0] + "\",\"reason\":\"moved\"}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  const std::string nuid = r.json()["data"]["uid"].asString();
  BOOST_TEST(nuid != s.uid);
  BOOST_TEST(r.json()["data"]["payment"]["status"].asString() == "paid");
  BOOST_TEST(r.json()["data"]["payment"]["amountPaidMinor"].asInt64() == 6000);
  BOOST_TEST(r.json()["data"]["payment"]["currency"].asString() == "EUR");
  // Nothing was charged or refunded for the move; the payment points at the new head.
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM payments WHERE intent_id = ?", {row(s.pid).i64("intent_id")}) == 1);
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM payment_refunds WHERE payment_id = ?", {s.pid}) == 0);
  BOOST_TEST(payment(s.agent, s.pid)["bookingUid"].asString() == nuid);
  auto q = http("GET", base_url() + "/api/payments/quote?booking=" + nuid, s.agent.auth);
  BOOST_TEST(q.json()["data"]["refundMinor"].asInt64() == 6000);
}

BOOST_FIXTURE_TEST_CASE(lost_webhooks_are_reconciled_from_stripe, Fx) {
  Person coach = new_coach(), a = person("agent"), b = person("agent");
  int64_t et = create_type(coach, "recon", 2500);
  auto starts = slot_starts(coach, et, future_weekday(2, 16));
  BOOST_TEST_REQUIRE(starts.size() >= 3u);
  auto ra = book(a, coach, et, starts[0], "k-" + crypto::random_hex(6));
  auto rb = book(b, coach, et, starts[2], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(ra.status == 202, ra.body);
  BOOST_TEST_REQUIRE(rb.status == 202, rb.body);
  const int64_t pa = ra.json()["data"]["paymentId"].asInt64(), pb = rb.json()["data"]["paymentId"].asInt64();
  // Stripe's deliveries are held back (lost, as far as we can tell).
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"hold\"}").status == 200);
  BOOST_TEST(stripe_ctl("/_emulator/checkout/" + ra.json()["data"]["checkoutSessionId"].asString() + "/pay",
                        "{\"outcome\":\"success\"}").status == 200);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  BOOST_TEST(row(pa).str("status") == "pending");
  // Past the checkout expiry the reconcile job asks Stripe: A paid (booked), B abandoned (expired by us).
  db.exec("UPDATE payments SET checkout_expires_at = CURRENT_TIMESTAMP - INTERVAL 2 MINUTE WHERE id IN (?, ?)", {pa, pb});
  BOOST_TEST(eventually([&] { return booked(pa); }, 40), row(pa).str("finalize_state"));
  BOOST_TEST(row(pa).str("status") == "paid");
  BOOST_TEST(eventually([&] { return row(pb).str("status") == "expired"; }, 40), row(pb).str("status"));
  auto sb = http("GET", stripe_url() + "/v1/checkout/sessions/" + rb.json()["data"]["checkoutSessionId"].asString(),
                 {{"Authorization", "Bearer " + cfg().stripe_secret_key}});
  BOOST_TEST(sb.json()["status"].asString() == "expired");
  // The held deliveries arrive late: applied without a second booking or invoice.
  const int64_t invoice = row(pa).i64("invoice_number");
  BOOST_TEST(stripe_ctl("/_emulator/delivery-mode", "{\"mode\":\"normal\"}").status == 200);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  BOOST_TEST(row(pa).i64("invoice_number") == invoice);
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ? AND status = 'accepted'", {coach.id}) == 1);
  BOOST_TEST(row(pb).str("status") == "expired");
}

BOOST_FIXTURE_TEST_CASE(cancelled_on_calcom_side_is_refunded_in_full, Fx) {
  auto s = booked_session("calcancel", 4500, "USD", 5);
  // As a Cal.com BOOKING_CANCELLED webhook leaves it: cancelled, not through our API, a minute ago
  // (the sweep lets a change settle for 30 s so our own API's cancellation refunds by policy first).
  db.exec("UPDATE CalBooking SET status = 'cancelled', updated_at = CURRENT_TIMESTAMP(3) - INTERVAL 1 MINUTE "
          "WHERE cal_uid = ?", {s.uid});
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "refunded"; }, 80), row(s.pid).str("status"));
  auto rf = db.query_one("SELECT COUNT(*) AS n, MAX(reason) AS why FROM payment_refunds WHERE payment_id = ?", {s.pid});
  BOOST_TEST(rf->i64("n") == 1);
  BOOST_TEST(rf->str("why") == "coach_cancel");
}

BOOST_FIXTURE_TEST_CASE(stripe_failures_are_retried_with_the_same_idempotency_key, Fx) {
  Person coach = new_coach(), a = person("agent"), b = person("agent");
  int64_t et = create_type(coach, "retry", 3300);
  auto starts = slot_starts(coach, et, future_weekday(4, 15));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto list_sessions = [&] {
    auto l = http("GET", stripe_url() + "/v1/checkout/sessions?limit=100",
                  {{"Authorization", "Bearer " + cfg().stripe_secret_key}});
    return l.json()["data"];
  };
  // The connection drops after Stripe created the session: the retry (same key) gets the same one.
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/faults", "{\"path_prefix\":\"/v1/checkout/sessions\",\"method\":\"POST\","
                                                     "\"kind\":\"drop\",\"count\":1}").status == 200);
  auto r = book(a, coach, et, starts[0], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  const std::string pid = std::to_string(r.json()["data"]["paymentId"].asInt64());
  int n = 0;
  for (const auto& s : list_sessions())
    if (s["metadata"]["payment_id"].asString() == pid) ++n;
  BOOST_TEST(n == 1);
  // Stripe down for longer than the retries: 502, nothing charged, the slot not held.
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/faults", "{\"path_prefix\":\"/v1/checkout/sessions\",\"method\":\"POST\","
                                                     "\"kind\":\"500\",\"count\":3}").status == 200);
  auto down = book(b, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST(down.status == 502, down.body);
  BOOST_TEST(down.json()["error"]["code"].asString() == "payments_unavailable");
  http("DELETE", stripe_url() + "/_emulator/faults");
  auto again = book(b, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST(again.status == 202, again.body);
}

BOOST_FIXTURE_TEST_CASE(paid_but_booking_gave_up_is_refunded, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "gaveup", 2000);
  auto starts = slot_starts(coach, et, future_weekday(3, 16));
  BOOST_TEST_REQUIRE(starts.size() >= 1u);
  auto r = book(agent, coach, et, starts[0], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  const int64_t pid = r.json()["data"]["paymentId"].asInt64();
  // Cal.com is down: the booking job keeps failing (and is kept waiting: the hold stays).
  emu_post("/_emulator/faults", "{\"path_prefix\":\"/v2/bookings\",\"method\":\"POST\",\"status\":503,\"count\":1000}");
  BOOST_TEST(stripe_ctl("/_emulator/checkout/" + r.json()["data"]["checkoutSessionId"].asString() + "/pay",
                        "{\"outcome\":\"success\"}").status == 200);
  const std::string key = "finalize:" + std::to_string(pid);
  bool failed_once = eventually([&] {
    return count("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key = ? AND attempts >= 1", {key}) == 1;
  });
  http("DELETE", cfg().cal_api_base_url + "/_emulator/faults");
  BOOST_TEST_REQUIRE(failed_once);
  BOOST_TEST(row(pid).str("finalize_state") == "queued");
  BOOST_TEST(row(pid).str("status") == "paid");
  // Its retries run out (as after hours of outage): the sweep refunds in full.
  db.exec("UPDATE jobs SET status = 'dead' WHERE idempotency_key = ?", {key});
  BOOST_TEST(eventually([&] { return row(pid).str("status") == "refunded"; }, 80), row(pid).str("status"));
  BOOST_TEST(row(pid).str("finalize_state") == "slot_lost");
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CalBooking WHERE coach_user_id = ?", {coach.id}) == 0);
}

BOOST_FIXTURE_TEST_CASE(async_payment_failure_marks_failed_and_releases_the_slot, Fx) {
  Person coach = new_coach(), a = person("agent"), b = person("agent");
  int64_t et = create_type(coach, "asyncfail", 4500);
  auto starts = slot_starts(coach, et, future_weekday(4, 9));
  BOOST_TEST_REQUIRE(starts.size() >= 2u);
  auto ra = book(a, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST_REQUIRE(ra.status == 202, ra.body);
  const int64_t pa = ra.json()["data"]["paymentId"].asInt64();
  const std::string cs = ra.json()["data"]["checkoutSessionId"].asString();
  BOOST_TEST(book(b, coach, et, starts[1], "k-" + crypto::random_hex(6)).status == 409);
  Json::Value obj;
  obj["id"] = cs;
  obj["object"] = "checkout.session";
  obj["payment_status"] = "unpaid";
  obj["status"] = "complete";
  obj["metadata"]["payment_id"] = std::to_string(pa);
  // Completed but unpaid (a delayed method): no booking yet, the slot stays held.
  const Json::Value done = event("checkout.session.completed", obj);
  auto c = send_event(done);
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(eventually([&] { return count("SELECT COUNT(*) AS n FROM stripe_events WHERE event_id = ? AND "
                                           "status = 'applied'", {done["id"].asString()}) == 1; }, 10));
  BOOST_TEST(row(pa).str("status") == "pending");
  BOOST_TEST(row(pa).i64("is_paid") == 0);
  // Then the bank says no: failed, nothing charged, the slot is free again.
  auto f = send_event(event("checkout.session.async_payment_failed", obj));
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  BOOST_TEST(eventually([&] { return row(pa).str("status") == "failed"; }), row(pa).str("status"));
  BOOST_TEST(row(pa).str("booking_uid").empty());
  BOOST_TEST(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM jobs WHERE idempotency_key = ? AND status = 'done'",
                 {"release:" + std::to_string(pa)}) == 1;
  }));
  auto rb = book(b, coach, et, starts[1], "k-" + crypto::random_hex(6));
  BOOST_TEST(rb.status == 202, rb.body);
}

BOOST_FIXTURE_TEST_CASE(moved_in_calcom_then_cancelled_here_is_still_refunded, Fx) {
  auto s = booked_session("calmove", 6000, "USD", 3);
  // The coach's own webhook: the Cal.com emulator tells our receiver of the move.
  auto hook = http("POST", base_url() + "/api/cal/webhooks/default", s.coach.json, "{}");
  BOOST_TEST_REQUIRE((hook.status == 201 || hook.status == 200), hook.body);
  std::string other;
  for (const auto& st : slot_starts(s.coach, s.et, add_days(s.start.substr(0, 10), 1)))
    if (other.empty()) other = st;
  BOOST_TEST_REQUIRE(!other.empty());
  auto mv = http("POST", cfg().cal_api_base_url + "/v2/bookings/" + s.uid + "/reschedule",
                 {{"Content-Type", "application/json"}, {"cal-api-version", "2024-08-13"}},
                 "{\"start\":\"" + other + "\",\"reschedulingReason\":\"moved in Cal.com\"}");
  BOOST_TEST_REQUIRE(mv.status == 201, mv.body);
  const std::string moved = mv.json()["data"]["uid"].asString();
  BOOST_TEST_REQUIRE(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM CalBooking WHERE cal_uid = ? AND status = 'accepted'", {moved}) == 1;
  }));
  // The coach cancels the moved booking here: the chain's payment is found and refunded in full.
  auto c = http("POST", base_url() + "/api/cal/bookings/" + moved + "/cancel", s.coach.json, "{}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "refunded"; }), row(s.pid).str("status"));
  BOOST_TEST(row(s.pid).i64("refunded_minor") == 6000);
  // Still one session for the chain (keyed by the first booking), now cancelled.
  BOOST_TEST(count("SELECT COUNT(*) AS n FROM CoachingSession WHERE root_uid = ?", {moved}) == 0);
  BOOST_TEST(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM CoachingSession WHERE root_uid = ? AND status = 'cancelled'", {s.uid}) == 1;
  }));
  BOOST_TEST(http("DELETE", base_url() + "/api/cal/webhooks/" + hook.json()["data"]["subscription"]["id"].asString(),
                  s.coach.json).status == 200);
}

BOOST_FIXTURE_TEST_CASE(a_refund_that_fails_at_stripe_can_be_made_again, Fx) {
  auto s = booked_session("rfail", 5000, "USD", 4);
  BOOST_TEST_REQUIRE(stripe_ctl("/_emulator/refund-default-status", "{\"status\":\"pending\"}").status == 200);
  auto c = http("POST", base_url() + "/api/cal/bookings/" + s.uid + "/cancel", s.coach.json, "{}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  std::string re_id;
  BOOST_TEST_REQUIRE(eventually([&] {
    auto r = db.query_one("SELECT stripe_refund_id FROM payment_refunds WHERE payment_id = ? AND status = 'pending'",
                          {s.pid});
    if (r) re_id = r->str("stripe_refund_id");
    return !re_id.empty();
  }));
  stripe_ctl("/_emulator/refund-default-status", "{\"status\":\"succeeded\"}");
  auto f = stripe_ctl("/_emulator/refunds/" + re_id + "/status",
                      "{\"status\":\"failed\",\"failure_reason\":\"expired_or_canceled_card\"}");
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  // The money never left: paid again, nothing counted as refunded; the failed refund is on the payment.
  BOOST_TEST(eventually([&] {
    return count("SELECT COUNT(*) AS n FROM payment_refunds WHERE payment_id = ? AND status = 'failed'", {s.pid}) == 1;
  }));
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "paid"; }), row(s.pid).str("status"));
  BOOST_TEST(row(s.pid).i64("refunded_minor") == 0);
  const Json::Value pay = payment(s.agent, s.pid);
  BOOST_TEST_REQUIRE(pay["refunds"].size() == 1u);
  BOOST_TEST(pay["refunds"][0]["status"].asString() == "failed");
  BOOST_TEST(pay["status"].asString() == "paid");
  // An admin refunds the whole amount again, and it succeeds.
  Person admin = person("admin");
  auto again = http("POST", base_url() + "/api/payments/" + std::to_string(s.pid) + "/refund", admin.json,
                    "{\"amountMinor\":5000,\"idempotencyKey\":\"again-" + crypto::random_hex(4) + "\"}");
  BOOST_TEST_REQUIRE(again.status == 202, again.body);
  BOOST_TEST(eventually([&] { return row(s.pid).str("status") == "refunded"; }), row(s.pid).str("status"));
  BOOST_TEST(row(s.pid).i64("refunded_minor") == 5000);
}
