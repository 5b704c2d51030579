/* test_it_stripe_emulator.cpp: the Stripe emulator of the running test stack
 * ($COACH_STRIPE_URL) against reference §1 and §5.1: API-key auth (Bearer
 * and Basic), form validation, Idempotency-Key replay / conflict / in-flight
 * 409, checkout create -> hosted page -> decline -> pay -> complete, payment
 * intent, charge and receipt, invoices, refunds (partial, remainder,
 * over-amount, already refunded, pending -> succeeded/failed), JPY amounts,
 * expiry (API and clock), faults, delivery modes and the signatures of the
 * webhook deliveries, verified with lib/crypto HMAC.
 *
 * The stack's webhook URL is our /api/stripe/webhook, which may or may not
 * answer 2xx: the tests only read what the emulator sent. They never reset
 * the emulator (other tests share it) and undo every mode they switch on. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE stripe_emulator
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include "test_support.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

using Form = std::vector<std::pair<std::string, std::string>>;

std::string stripe_url() { return env_or("COACH_STRIPE_URL", cfg().stripe_api_base_url); }
const std::string& secret_key() { return cfg().stripe_secret_key; }
const std::string& webhook_secret() { return cfg().stripe_webhook_secret; }

std::string pct(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '[' || ch == ']') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(hex[ch >> 4]);
      out.push_back(hex[ch & 15]);
    }
  }
  return out;
}

std::string encode(const Form& f) {
  std::string out;
  for (const auto& [k, v] : f) out += (out.empty() ? "" : "&") + pct(k) + "=" + pct(v);
  return out;
}

Headers auth() { return {{"Authorization", "Bearer " + secret_key()}}; }

Http api_get(const std::string& path, const Form& query = {}) {
  std::string url = stripe_url() + path;
  if (!query.empty()) url += "?" + encode(query);
  return http("GET", url, auth());
}

Http api_post(const std::string& path, const Form& form, const std::string& idem_key = "") {
  Headers h = auth();
  h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  h.emplace_back("Stripe-Version", "2026-10-28.endive");
  if (!idem_key.empty()) h.emplace_back("Idempotency-Key", idem_key);
  return http("POST", stripe_url() + path, h, encode(form));
}

Http control(const std::string& method, const std::string& path, const std::string& json_body = "") {
  return http(method, stripe_url() + "/_emulator" + path, {{"Content-Type", "application/json"}}, json_body);
}

int64_t counter(const std::string& name) { return control("GET", "/state").json()["counters"][name].asInt64(); }

std::string unique(const std::string& prefix) {
  static int n = 0;
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++n) + "-" + crypto::random_hex(4);
}

/* A session form: one line item of unit_amount in currency. */
Form session_form(int64_t unit_amount, const std::string& currency = "usd", const std::string& booking = "42") {
  return {{"mode", "payment"},
          {"line_items[0][quantity]", "1"},
          {"line_items[0][price_data][currency]", currency},
          {"line_items[0][price_data][unit_amount]", std::to_string(unit_amount)},
          {"line_items[0][price_data][product_data][name]", "Coaching session 60 min"},
          {"success_url", "https://app.example/booking/success?session_id={CHECKOUT_SESSION_ID}"},
          {"cancel_url", "https://app.example/booking/cancel"},
          {"customer_email", "client@example.com"},
          {"client_reference_id", "booking_" + booking},
          {"metadata[booking_id]", booking},
          {"payment_intent_data[metadata][booking_id]", booking},
          {"invoice_creation[enabled]", "true"}};
}

Json::Value create_session(int64_t unit_amount, const std::string& currency = "usd") {
  auto r = api_post("/v1/checkout/sessions", session_form(unit_amount, currency), unique("cs"));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  return r.json();
}

/* Pays through the hosted page's form; returns the Location of the 303. */
std::string pay_on_page(const std::string& cs_id) {
  auto r = http("POST", stripe_url() + "/pay/" + cs_id, {{"Content-Type", "application/x-www-form-urlencoded"}},
                "outcome=success&email=client%40example.com&name=Pat+Client");
  BOOST_TEST_REQUIRE(r.status == 303, r.body);
  return r.headers["location"];
}

Json::Value paid_session(int64_t unit_amount, const std::string& currency = "usd") {
  Json::Value s = create_session(unit_amount, currency);
  pay_on_page(s["id"].asString());
  auto r = api_get("/v1/checkout/sessions/" + s["id"].asString(), {{"expand[]", "payment_intent"}});
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  return r.json();
}

std::string error_code(const Http& r) { return r.json()["error"]["code"].asString(); }
std::string error_param(const Http& r) { return r.json()["error"]["param"].asString(); }
std::string error_type(const Http& r) { return r.json()["error"]["type"].asString(); }

/* The events of one type whose data.object.id is object_id. */
std::vector<Json::Value> events_for(const std::string& type, const std::string& object_id) {
  std::vector<Json::Value> out;
  auto r = api_get("/v1/events", {{"type", type}, {"limit", "100"}});
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  const Json::Value page = r.json();  // kept alive: the loop must not run over a temporary
  for (const auto& e : page["data"]) {
    if (e["data"]["object"]["id"].asString() == object_id) out.push_back(e);
  }
  return out;
}

/* The delivery attempts of an event, waiting until at least n exist. */
Json::Value attempts_of(const std::string& event_id, size_t n, const std::string& endpoint_id = "", int wait_ms = 8000) {
  Json::Value list;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  do {
    std::string q = "/deliveries?event_id=" + event_id + (endpoint_id.empty() ? "" : "&endpoint_id=" + endpoint_id);
    list = control("GET", q).json()["deliveries"];
    if (list.size() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return list;
}

/* Verifies Stripe-Signature the way stripe-node does (§1.8): t and every v1
 * over t + "." + raw body with the whole whsec_ secret as the HMAC key. */
bool signature_ok(const std::string& header, const std::string& body, const std::string& secret) {
  std::string t;
  std::vector<std::string> v1;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    std::string item = header.substr(pos, comma - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) {
      if (item.substr(0, eq) == "t") t = item.substr(eq + 1);
      if (item.substr(0, eq) == "v1") v1.push_back(item.substr(eq + 1));
    }
    pos = comma + 1;
  }
  if (t.empty() || v1.empty()) return false;
  const std::string expected = crypto::hmac_sha256_hex(secret, t + "." + body);
  for (const auto& s : v1) if (crypto::constant_time_equal(s, expected)) return true;
  return false;
}

struct Fx {
  Fx() { http_client::global_init(); }
  ~Fx() {
    // Leave the shared emulator as other tests expect it.
    try {
      control("POST", "/delivery-mode", "{\"mode\":\"normal\"}");
      control("DELETE", "/faults");
      control("POST", "/refund-default-status", "{\"status\":\"succeeded\"}");
      control("POST", "/clock", "{\"offset_s\":0}");
    } catch (...) {
    }
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(stripe_emulator, Fx)

BOOST_AUTO_TEST_CASE(health_answers) {
  auto r = control("GET", "/health");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.json()["ok"].asBool());
}

BOOST_AUTO_TEST_CASE(missing_api_key_is_401_with_request_id) {
  auto r = http("GET", stripe_url() + "/v1/events");
  BOOST_TEST(r.status == 401);
  BOOST_TEST(error_type(r) == "invalid_request_error");
  BOOST_TEST(r.json()["error"]["message"].asString().find("You did not provide an API key") != std::string::npos);
  BOOST_TEST(r.headers["request-id"].rfind("req_", 0) == 0u);
  BOOST_TEST(r.headers["content-type"].find("application/json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_api_key_is_401_and_masked) {
  const std::string wrong = "sk_test_notthekey" + crypto::random_hex(4) + "9876";
  auto r = http("GET", stripe_url() + "/v1/events", {{"Authorization", "Bearer " + wrong}});
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["error"]["message"].asString() == "Invalid API Key provided: sk_test_****9876");
  BOOST_TEST(r.body.find(wrong) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(basic_auth_with_key_as_user_is_accepted) {
  auto ok = http("GET", stripe_url() + "/v1/events?limit=1",
                 {{"Authorization", "Basic " + crypto::base64_encode(secret_key() + ":")}});
  BOOST_TEST(ok.status == 200, ok.body);
  BOOST_TEST(ok.json()["object"].asString() == "list");
  auto bad = http("GET", stripe_url() + "/v1/events?limit=1",
                  {{"Authorization", "Basic " + crypto::base64_encode("sk_test_wrong0000:")}});
  BOOST_TEST(bad.status == 401);
}

BOOST_AUTO_TEST_CASE(stripe_version_is_checked_and_echoed) {
  Headers h = auth();
  h.emplace_back("Stripe-Version", "latest-please");
  auto bad = http("GET", stripe_url() + "/v1/events?limit=1", h);
  BOOST_TEST(bad.status == 400);
  h.back().second = "2024-06-20";
  auto ok = http("GET", stripe_url() + "/v1/events?limit=1", h);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.headers["stripe-version"] == "2024-06-20");
}

BOOST_AUTO_TEST_CASE(unknown_route_and_unknown_id) {
  auto r = api_get("/v1/nonsense");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["error"]["message"].asString().find("Unrecognized request URL (GET: /v1/nonsense)") == 0u);
  auto m = api_get("/v1/checkout/sessions/cs_test_nope");
  BOOST_TEST(m.status == 404);
  BOOST_TEST(error_code(m) == "resource_missing");
  BOOST_TEST(error_param(m) == "id");
  BOOST_TEST(m.json()["error"]["message"].asString() == "No such checkout.session: 'cs_test_nope'");
  BOOST_TEST(api_get("/v1/payment_intents/pi_nope").status == 404);
  BOOST_TEST(api_get("/v1/charges/ch_nope").status == 404);
  BOOST_TEST(api_get("/v1/refunds/re_nope").status == 404);
  BOOST_TEST(api_get("/v1/events/evt_nope").status == 404);
}

BOOST_AUTO_TEST_CASE(form_validation_errors_name_the_param) {
  const int64_t errors_before = counter("validation_errors");
  const int64_t sessions_before = control("GET", "/state").json()["objects"]["checkout_sessions"].asInt64();
  struct Case {
    std::function<void(Form&)> change;
    std::string code, param;
  };
  std::vector<Case> cases = {
      {[](Form& f) { f.emplace_back("foo", "1"); }, "parameter_unknown", "foo"},
      {[](Form& f) { f.emplace_back("line_items[0][price_data][bogus]", "1"); }, "parameter_unknown",
       "line_items[0][price_data][bogus]"},
      {[](Form& f) { f.erase(f.begin()); }, "parameter_missing", "mode"},
      {[](Form& f) { f[5].second = ""; }, "parameter_invalid_empty", "success_url"},
      {[](Form& f) { f.erase(f.begin() + 5); }, "parameter_missing", "success_url"},
      {[](Form& f) { f[3].second = "12.5x"; }, "parameter_invalid_integer", "line_items[0][price_data][unit_amount]"},
      {[](Form& f) { f[3].second = "-1"; }, "parameter_invalid_integer", "line_items[0][price_data][unit_amount]"},
      {[](Form& f) { f[1].second = "0"; }, "parameter_invalid_integer", "line_items[0][quantity]"},
      {[](Form& f) { f.erase(f.begin() + 1); }, "parameter_missing", "line_items[0][quantity]"},
      {[](Form& f) { f.erase(f.begin() + 4); }, "parameter_missing", "line_items[0][price_data][product_data]"},
      {[](Form& f) { f[4].first = "line_items[0][price_data][product_data][description]"; }, "parameter_missing",
       "line_items[0][price_data][product_data][name]"},
      {[](Form& f) { f.erase(f.begin() + 2); }, "parameter_missing", "line_items[0][price_data][currency]"},
      {[](Form& f) { f[7].second = "not-an-email"; }, "email_invalid", "customer_email"},
      {[](Form& f) { f.emplace_back("expires_at", std::to_string(std::time(nullptr) + 600)); }, "", "expires_at"},
      {[](Form& f) { f.emplace_back("expires_at", std::to_string(std::time(nullptr) + 90000)); }, "", "expires_at"},
      {[](Form& f) { f.emplace_back("mode", "subscription"); }, "", "mode"},
      {[](Form& f) {
         f.emplace_back("line_items[1][quantity]", "1");
         f.emplace_back("line_items[1][price_data][currency]", "eur");
         f.emplace_back("line_items[1][price_data][unit_amount]", "100");
         f.emplace_back("line_items[1][price_data][product_data][name]", "x");
       },
       "", "line_items[1][price_data][currency]"},
      {[](Form& f) { f.emplace_back("invoice_creation[enabled]", "maybe"); }, "", "invoice_creation[enabled]"},
      {[](Form& f) { f[9] = {"metadata", "flat"}; }, "", "metadata"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Form f = session_form(5000);
    cases[i].change(f);
    auto r = api_post("/v1/checkout/sessions", f);
    BOOST_TEST_CONTEXT("case " << i << ": " << r.body) {
      BOOST_TEST(r.status == 400);
      BOOST_TEST(error_type(r) == "invalid_request_error");
      BOOST_TEST(error_param(r) == cases[i].param);
      if (!cases[i].code.empty()) BOOST_TEST(error_code(r) == cases[i].code);
    }
  }
  BOOST_TEST(counter("validation_errors") - errors_before >= static_cast<int64_t>(cases.size()));
  // Nothing half-created.
  BOOST_TEST(control("GET", "/state").json()["objects"]["checkout_sessions"].asInt64() == sessions_before);
}

BOOST_AUTO_TEST_CASE(json_body_is_rejected) {
  Headers h = auth();
  h.emplace_back("Content-Type", "application/json");
  auto r = http("POST", stripe_url() + "/v1/checkout/sessions", h, "{\"mode\":\"payment\"}");
  BOOST_TEST(r.status == 400, r.body);
  BOOST_TEST(error_type(r) == "invalid_request_error");
  BOOST_TEST(r.json()["error"]["message"].asString().find("x-www-form-urlencoded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(indexed_and_empty_bracket_arrays_both_work) {
  Json::Value s = create_session(5000);
  const std::string id = s["id"].asString();
  auto a = http("GET", stripe_url() + "/v1/checkout/sessions/" + id + "?expand[]=line_items&expand[]=payment_intent", auth());
  auto b = http("GET", stripe_url() + "/v1/checkout/sessions/" + id + "?expand%5B0%5D=line_items", auth());
  BOOST_TEST(a.status == 200, a.body);
  BOOST_TEST(b.status == 200, b.body);
  BOOST_TEST(a.json()["line_items"]["data"][0]["amount_total"].asInt64() == 5000);
  BOOST_TEST(b.json()["line_items"]["object"].asString() == "list");
  BOOST_TEST(a.json()["payment_intent"].isNull());  // nothing to expand before payment
  auto bad = api_get("/v1/checkout/sessions/" + id, {{"expand[]", "customer_details"}});
  BOOST_TEST(bad.status == 400);
}

BOOST_AUTO_TEST_CASE(idempotent_replay_and_different_params) {
  const std::string key = unique("idem");
  const int64_t replays = counter("idempotent_replays");
  auto first = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  BOOST_TEST(first.headers.count("idempotent-replayed") == 0u);
  auto again = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.headers["idempotent-replayed"] == "true");
  BOOST_TEST(again.json()["id"].asString() == first.json()["id"].asString());
  BOOST_TEST(again.body == first.body);
  BOOST_TEST(again.headers["request-id"] != first.headers["request-id"]);
  BOOST_TEST(counter("idempotent_replays") == replays + 1);

  auto different = api_post("/v1/checkout/sessions", session_form(6000), key);
  BOOST_TEST(different.status == 400);
  BOOST_TEST(error_type(different) == "idempotency_error");
  BOOST_TEST(different.json()["error"]["message"].asString().find("Try using a key other than '" + key + "'") !=
             std::string::npos);
  // Same body to another endpoint with the key: also a conflict.
  auto other_path = api_post("/v1/refunds", {{"payment_intent", "pi_x"}}, key);
  BOOST_TEST(other_path.status == 400);
  BOOST_TEST(error_type(other_path) == "idempotency_error");
}

BOOST_AUTO_TEST_CASE(failed_validation_is_not_stored_under_the_key) {
  const std::string key = unique("idem-invalid");
  Form bad = session_form(5000);
  bad.emplace_back("nope", "1");
  auto r1 = api_post("/v1/checkout/sessions", bad, key);
  BOOST_TEST(r1.status == 400);
  auto r2 = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST(r2.status == 200, r2.body);
  BOOST_TEST(r2.headers.count("idempotent-replayed") == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_request_with_same_key_gets_409) {
  const std::string key = unique("idem-concurrent");
  auto f = control("POST", "/faults", "{\"path_prefix\":\"/v1/checkout/sessions\",\"kind\":\"slow\",\"delay_ms\":1500}");
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  auto slow = std::async(std::launch::async, [&] { return api_post("/v1/checkout/sessions", session_form(5000), key); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto second = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST(second.status == 409, second.body);
  BOOST_TEST(error_type(second) == "idempotency_error");
  auto first = slow.get();
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  auto retry = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST(retry.status == 200);
  BOOST_TEST(retry.headers["idempotent-replayed"] == "true");
  BOOST_TEST(retry.json()["id"].asString() == first.json()["id"].asString());
}

BOOST_AUTO_TEST_CASE(checkout_create_decline_pay_complete) {
  Json::Value s = create_session(5000);
  const std::string id = s["id"].asString();
  BOOST_TEST(id.rfind("cs_test_", 0) == 0u);
  BOOST_TEST(s["object"].asString() == "checkout.session");
  BOOST_TEST(s["status"].asString() == "open");
  BOOST_TEST(s["payment_status"].asString() == "unpaid");
  BOOST_TEST(s["payment_intent"].isNull());
  BOOST_TEST(s["amount_total"].asInt64() == 5000);
  BOOST_TEST(s["amount_subtotal"].asInt64() == 5000);
  BOOST_TEST(s["currency"].asString() == "usd");
  BOOST_TEST(s["metadata"]["booking_id"].asString() == "42");
  BOOST_TEST(s["client_reference_id"].asString() == "booking_42");
  BOOST_TEST(s["invoice_creation"]["enabled"].asBool());
  BOOST_TEST(s["url"].asString() == stripe_url() + "/pay/" + id);
  const int64_t now = std::time(nullptr);
  BOOST_TEST(std::abs(s["expires_at"].asInt64() - (now + 86400)) < 120);

  // The hosted page: line item, amount, the two buttons, the back link.
  auto page = http("GET", s["url"].asString());
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body.find("Coaching session 60 min") != std::string::npos);
  BOOST_TEST(page.body.find("$50.00") != std::string::npos);
  BOOST_TEST(page.body.find(">Pay</button>") != std::string::npos);
  BOOST_TEST(page.body.find(">Decline</button>") != std::string::npos);
  BOOST_TEST(page.body.find("href=\"https://app.example/booking/cancel\"") != std::string::npos);

  // Decline: the page again with an error, the session still open.
  auto declined = http("POST", stripe_url() + "/pay/" + id, {{"Content-Type", "application/x-www-form-urlencoded"}},
                       "outcome=decline&email=client%40example.com");
  BOOST_TEST(declined.status == 200);
  BOOST_TEST(declined.body.find("Your card was declined.") != std::string::npos);
  auto after_decline = api_get("/v1/checkout/sessions/" + id, {{"expand[]", "payment_intent"}}).json();
  BOOST_TEST(after_decline["status"].asString() == "open");
  BOOST_TEST(after_decline["payment_intent"]["status"].asString() == "requires_payment_method");
  BOOST_TEST(after_decline["payment_intent"]["last_payment_error"]["type"].asString() == "card_error");
  BOOST_TEST(after_decline["payment_intent"]["last_payment_error"]["code"].asString() == "card_declined");
  const std::string pi_id = after_decline["payment_intent"]["id"].asString();
  BOOST_TEST(events_for("payment_intent.payment_failed", pi_id).size() == 1u);

  // Pay: 303 to success_url with the id filled in.
  const std::string location = pay_on_page(id);
  BOOST_TEST(location == "https://app.example/booking/success?session_id=" + id);

  auto done = api_get("/v1/checkout/sessions/" + id).json();
  BOOST_TEST(done["status"].asString() == "complete");
  BOOST_TEST(done["payment_status"].asString() == "paid");
  BOOST_TEST(done["payment_intent"].asString() == pi_id);
  BOOST_TEST(done["customer_details"]["email"].asString() == "client@example.com");
  BOOST_TEST(done["url"].isNull());
  BOOST_TEST(done["invoice"].asString().rfind("in_", 0) == 0u);

  auto pi = api_get("/v1/payment_intents/" + pi_id).json();
  BOOST_TEST(pi["status"].asString() == "succeeded");
  BOOST_TEST(pi["amount"].asInt64() == 5000);
  BOOST_TEST(pi["amount_received"].asInt64() == 5000);
  BOOST_TEST(pi["metadata"]["booking_id"].asString() == "42");
  BOOST_TEST(pi["last_payment_error"].isNull());
  const std::string ch_id = pi["latest_charge"].asString();
  auto ch = api_get("/v1/charges/" + ch_id).json();
  BOOST_TEST(ch["paid"].asBool());
  BOOST_TEST(ch["status"].asString() == "succeeded");
  BOOST_TEST(ch["amount_captured"].asInt64() == 5000);
  BOOST_TEST(ch["payment_intent"].asString() == pi_id);
  BOOST_TEST(!ch.isMember("refunds"));  // only when expanded
  auto receipt = http("GET", ch["receipt_url"].asString());
  BOOST_TEST(receipt.status == 200);
  BOOST_TEST(receipt.body.find("$50.00") != std::string::npos);

  auto inv = api_get("/v1/invoices/" + done["invoice"].asString()).json();
  BOOST_TEST(inv["status"].asString() == "paid");
  BOOST_TEST(inv["amount_paid"].asInt64() == 5000);
  BOOST_TEST(http("GET", inv["hosted_invoice_url"].asString()).status == 200);

  // Lookup by payment_intent, line items, events.
  auto by_pi = api_get("/v1/checkout/sessions", {{"payment_intent", pi_id}}).json();
  BOOST_TEST(by_pi["data"].size() == 1u);
  BOOST_TEST(by_pi["data"][0]["id"].asString() == id);
  auto items = api_get("/v1/checkout/sessions/" + id + "/line_items").json();
  BOOST_TEST(items["data"].size() == 1u);
  BOOST_TEST(items["data"][0]["description"].asString() == "Coaching session 60 min");
  BOOST_TEST(events_for("payment_intent.created", pi_id).size() == 1u);
  BOOST_TEST(events_for("charge.succeeded", ch_id).size() == 1u);
  BOOST_TEST(events_for("payment_intent.succeeded", pi_id).size() == 1u);
  auto completed = events_for("checkout.session.completed", id);
  BOOST_TEST_REQUIRE(completed.size() == 1u);
  BOOST_TEST(completed[0]["data"]["object"]["payment_status"].asString() == "paid");
  BOOST_TEST(completed[0]["request"]["id"].isNull());  // customer-driven
  BOOST_TEST(completed[0]["api_version"].asString() == "2026-10-28.endive");

  // Paying a complete session: a clear message, no second charge.
  auto again = http("GET", s["url"].asString());
  BOOST_TEST(again.body.find("already complete") != std::string::npos);
  auto again_post = http("POST", stripe_url() + "/pay/" + id, {{"Content-Type", "application/x-www-form-urlencoded"}},
                         "outcome=success&email=client%40example.com");
  BOOST_TEST(again_post.status != 303);
  BOOST_TEST(events_for("charge.succeeded", ch_id).size() == 1u);
}

BOOST_AUTO_TEST_CASE(control_pay_endpoint_and_session_snapshot_in_event) {
  Json::Value s = create_session(7500);
  const std::string id = s["id"].asString();
  auto r = control("POST", "/checkout/" + id + "/pay", "{\"outcome\":\"success\",\"email\":\"x@example.org\"}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["redirect_url"].asString() == "https://app.example/booking/success?session_id=" + id);
  auto twice = control("POST", "/checkout/" + id + "/pay", "{\"outcome\":\"success\"}");
  BOOST_TEST(twice.status == 409);
  auto missing = control("POST", "/checkout/cs_test_missing/pay", "{\"outcome\":\"success\"}");
  BOOST_TEST(missing.status == 404);
}

BOOST_AUTO_TEST_CASE(refunds_partial_remainder_over_amount_already_refunded) {
  Json::Value s = paid_session(5000);
  const std::string pi = s["payment_intent"]["id"].asString();
  const std::string ch = s["payment_intent"]["latest_charge"].asString();
  const std::string key = unique("refund");
  auto partial = api_post("/v1/refunds",
                          {{"payment_intent", pi}, {"amount", "2000"}, {"reason", "requested_by_customer"},
                           {"metadata[booking_id]", "42"}},
                          key);
  BOOST_TEST_REQUIRE(partial.status == 200, partial.body);
  const Json::Value re = partial.json();
  BOOST_TEST(re["id"].asString().rfind("re_", 0) == 0u);
  BOOST_TEST(re["amount"].asInt64() == 2000);
  BOOST_TEST(re["status"].asString() == "succeeded");
  BOOST_TEST(re["charge"].asString() == ch);
  BOOST_TEST(re["payment_intent"].asString() == pi);
  BOOST_TEST(re["metadata"]["booking_id"].asString() == "42");
  auto charge = api_get("/v1/charges/" + ch).json();
  BOOST_TEST(charge["amount_refunded"].asInt64() == 2000);
  BOOST_TEST(!charge["refunded"].asBool());

  // The refund's events carry the request and its key.
  auto created = events_for("refund.created", re["id"].asString());
  BOOST_TEST_REQUIRE(created.size() == 1u);
  BOOST_TEST(created[0]["request"]["id"].asString() == partial.headers["request-id"]);
  BOOST_TEST(created[0]["request"]["idempotency_key"].asString() == key);
  auto refunded_ev = events_for("charge.refunded", ch);
  BOOST_TEST_REQUIRE(refunded_ev.size() == 1u);
  BOOST_TEST(refunded_ev[0]["data"]["object"]["amount_refunded"].asInt64() == 2000);
  BOOST_TEST(refunded_ev[0]["data"]["previous_attributes"]["amount_refunded"].asInt64() == 0);

  auto over = api_post("/v1/refunds", {{"payment_intent", pi}, {"amount", "3001"}}, unique("refund"));
  BOOST_TEST(over.status == 400);
  BOOST_TEST(error_param(over) == "amount");
  BOOST_TEST(error_type(over) == "invalid_request_error");

  auto rest = api_post("/v1/refunds", {{"charge", ch}}, unique("refund"));
  BOOST_TEST_REQUIRE(rest.status == 200, rest.body);
  BOOST_TEST(rest.json()["amount"].asInt64() == 3000);
  charge = api_get("/v1/charges/" + ch, {{"expand[]", "refunds"}}).json();
  BOOST_TEST(charge["amount_refunded"].asInt64() == 5000);
  BOOST_TEST(charge["refunded"].asBool());
  BOOST_TEST(charge["refunds"]["data"].size() == 2u);

  auto more = api_post("/v1/refunds", {{"payment_intent", pi}, {"amount", "1"}}, unique("refund"));
  BOOST_TEST(more.status == 400);
  BOOST_TEST(error_code(more) == "charge_already_refunded");

  auto list = api_get("/v1/refunds", {{"payment_intent", pi}}).json();
  BOOST_TEST(list["data"].size() == 2u);
  auto receipt = http("GET", charge["receipt_url"].asString());
  BOOST_TEST(receipt.body.find(re["id"].asString()) != std::string::npos);
  BOOST_TEST(receipt.body.find("fully refunded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refund_input_errors) {
  auto none = api_post("/v1/refunds", {{"amount", "100"}});
  BOOST_TEST(none.status == 400);
  auto unknown = api_post("/v1/refunds", {{"payment_intent", "pi_doesnotexist"}});
  BOOST_TEST(unknown.status == 400);
  BOOST_TEST(error_code(unknown) == "resource_missing");
  BOOST_TEST(error_param(unknown) == "payment_intent");
  Json::Value s = paid_session(5000);
  const std::string pi = s["payment_intent"]["id"].asString();
  auto reason = api_post("/v1/refunds", {{"payment_intent", pi}, {"reason", "because"}});
  BOOST_TEST(reason.status == 400);
  BOOST_TEST(error_param(reason) == "reason");
  auto zero = api_post("/v1/refunds", {{"payment_intent", pi}, {"amount", "0"}});
  BOOST_TEST(zero.status == 400);
  BOOST_TEST(error_code(zero) == "parameter_invalid_integer");
  // An unpaid session's intent (declined) cannot be refunded.
  Json::Value open = create_session(5000);
  control("POST", "/checkout/" + open["id"].asString() + "/pay", "{\"outcome\":\"decline\"}");
  auto open_now = api_get("/v1/checkout/sessions/" + open["id"].asString()).json();
  auto unpaid = api_post("/v1/refunds", {{"payment_intent", open_now["payment_intent"].asString()}});
  BOOST_TEST(unpaid.status == 400);
}

BOOST_AUTO_TEST_CASE(pending_refund_then_succeeded_or_failed) {
  BOOST_TEST_REQUIRE(control("POST", "/refund-default-status", "{\"status\":\"pending\"}").status == 200);
  Json::Value s = paid_session(5000);
  const std::string pi = s["payment_intent"]["id"].asString();
  auto a = api_post("/v1/refunds", {{"payment_intent", pi}, {"amount", "1000"}}, unique("refund"));
  auto b = api_post("/v1/refunds", {{"payment_intent", pi}, {"amount", "1500"}}, unique("refund"));
  control("POST", "/refund-default-status", "{\"status\":\"succeeded\"}");
  BOOST_TEST_REQUIRE(a.status == 200, a.body);
  BOOST_TEST_REQUIRE(b.status == 200, b.body);
  BOOST_TEST(a.json()["status"].asString() == "pending");
  const std::string ra = a.json()["id"].asString(), rb = b.json()["id"].asString();
  const std::string ch = a.json()["charge"].asString();
  BOOST_TEST(api_get("/v1/charges/" + ch).json()["amount_refunded"].asInt64() == 2500);

  auto ok = control("POST", "/refunds/" + ra + "/status", "{\"status\":\"succeeded\"}");
  BOOST_TEST_REQUIRE(ok.status == 200, ok.body);
  BOOST_TEST(api_get("/v1/refunds/" + ra).json()["status"].asString() == "succeeded");
  auto updated = events_for("refund.updated", ra);
  BOOST_TEST_REQUIRE(updated.size() == 1u);
  BOOST_TEST(updated[0]["data"]["previous_attributes"]["status"].asString() == "pending");
  BOOST_TEST(updated[0]["data"]["object"]["status"].asString() == "succeeded");

  auto failed = control("POST", "/refunds/" + rb + "/status", "{\"status\":\"failed\"}");
  BOOST_TEST_REQUIRE(failed.status == 200, failed.body);
  auto rbj = api_get("/v1/refunds/" + rb).json();
  BOOST_TEST(rbj["status"].asString() == "failed");
  BOOST_TEST(!rbj["failure_reason"].asString().empty());
  BOOST_TEST(api_get("/v1/charges/" + ch).json()["amount_refunded"].asInt64() == 1000);  // given back
  BOOST_TEST(events_for("refund.failed", rb).size() == 1u);
  // A failed refund stays failed.
  BOOST_TEST(control("POST", "/refunds/" + rb + "/status", "{\"status\":\"succeeded\"}").status == 409);
}

BOOST_AUTO_TEST_CASE(jpy_is_zero_decimal) {
  Json::Value s = create_session(5000, "JPY");
  BOOST_TEST(s["currency"].asString() == "jpy");
  BOOST_TEST(s["amount_total"].asInt64() == 5000);
  auto page = http("GET", s["url"].asString());
  BOOST_TEST(page.body.find("\xC2\xA5" "5,000") != std::string::npos);
  BOOST_TEST(page.body.find("50.00") == std::string::npos);
  const std::string id = s["id"].asString();
  pay_on_page(id);
  auto paid = api_get("/v1/checkout/sessions/" + id, {{"expand[]", "payment_intent"}}).json();
  BOOST_TEST(paid["payment_intent"]["amount_received"].asInt64() == 5000);
  BOOST_TEST(paid["payment_intent"]["currency"].asString() == "jpy");
  auto over = api_post("/v1/refunds", {{"payment_intent", paid["payment_intent"]["id"].asString()}, {"amount", "5001"}});
  BOOST_TEST(over.status == 400);
  BOOST_TEST(over.json()["error"]["message"].asString().find("\xC2\xA5" "5,000") != std::string::npos);
  // Below Stripe's minimum charge (50 JPY).
  auto tiny = api_post("/v1/checkout/sessions", session_form(10, "jpy"));
  BOOST_TEST(tiny.status == 400);
}

BOOST_AUTO_TEST_CASE(expire_through_api_and_by_clock) {
  Json::Value s = create_session(5000);
  const std::string id = s["id"].asString();
  const std::string key = unique("expire");
  auto r = api_post("/v1/checkout/sessions/" + id + "/expire", {}, key);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["status"].asString() == "expired");
  BOOST_TEST(r.json()["url"].isNull());
  auto ev = events_for("checkout.session.expired", id);
  BOOST_TEST_REQUIRE(ev.size() == 1u);
  BOOST_TEST(ev[0]["request"]["idempotency_key"].asString() == key);
  auto again = api_post("/v1/checkout/sessions/" + id + "/expire", {});
  BOOST_TEST(again.status == 400);
  auto page = http("GET", stripe_url() + "/pay/" + id);
  BOOST_TEST(page.body.find("expired") != std::string::npos);
  BOOST_TEST(page.body.find(">Pay</button>") == std::string::npos);

  // By the clock: 30 min sessions expire once the clock passes expires_at.
  Form f = session_form(5000);
  f.emplace_back("expires_at", std::to_string(std::time(nullptr) + 1800 + 60));
  auto short_lived = api_post("/v1/checkout/sessions", f, unique("cs"));
  BOOST_TEST_REQUIRE(short_lived.status == 200, short_lived.body);
  const std::string sid = short_lived.json()["id"].asString();
  auto clock = control("POST", "/clock", "{\"advance_s\":1900}");
  BOOST_TEST_REQUIRE(clock.status == 200, clock.body);
  control("POST", "/clock", "{\"offset_s\":0}");
  BOOST_TEST(api_get("/v1/checkout/sessions/" + sid).json()["status"].asString() == "expired");
  auto cev = events_for("checkout.session.expired", sid);
  BOOST_TEST_REQUIRE(cev.size() == 1u);
  BOOST_TEST(cev[0]["request"]["id"].isNull());
  auto pay = control("POST", "/checkout/" + sid + "/pay", "{\"outcome\":\"success\"}");
  BOOST_TEST(pay.status == 409);
}

BOOST_AUTO_TEST_CASE(webhook_deliveries_are_signed_with_the_stack_secret) {
  Json::Value s = paid_session(5000);
  auto completed = events_for("checkout.session.completed", s["id"].asString());
  BOOST_TEST_REQUIRE(completed.size() == 1u);
  const std::string evt = completed[0]["id"].asString();
  Json::Value attempts = attempts_of(evt, 1, "we_default");
  BOOST_TEST_REQUIRE(attempts.size() >= 1u);
  const Json::Value& a = attempts[0];
  const std::string sig = a["headers"]["Stripe-Signature"].asString();
  const std::string body = a["body"].asString();
  BOOST_TEST(sig.rfind("t=", 0) == 0u);
  BOOST_TEST(signature_ok(sig, body, webhook_secret()));
  BOOST_TEST(!signature_ok(sig, body + " ", webhook_secret()));  // one byte more: no match
  BOOST_TEST(!signature_ok(sig, body, webhook_secret() + "x"));
  auto parsed = json::parse(body);
  BOOST_TEST_REQUIRE(bool(parsed));
  BOOST_TEST((*parsed)["id"].asString() == evt);
  BOOST_TEST((*parsed)["type"].asString() == "checkout.session.completed");
  BOOST_TEST((*parsed)["object"].asString() == "event");
  BOOST_TEST(!(*parsed)["livemode"].asBool());
  BOOST_TEST(a["headers"]["Content-Type"].asString().find("application/json") == 0u);
  BOOST_TEST(a["headers"]["User-Agent"].asString().rfind("Stripe/1.0", 0) == 0u);
  // t is the send time (seconds), close to now.
  const int64_t t = std::stoll(sig.substr(2, sig.find(',') - 2));
  BOOST_TEST(std::abs(t - static_cast<int64_t>(std::time(nullptr))) < 60);

  // Redelivery: another attempt, same body, a valid signature.
  BOOST_TEST_REQUIRE(control("POST", "/events/" + evt + "/redeliver", "{}").status == 200);
  Json::Value more;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    more = attempts_of(evt, 1, "we_default", 100);
    for (const auto& x : more) if (x["redelivery"].asBool()) seen = true;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST_REQUIRE(seen);
  for (const auto& x : more) {
    if (!x["redelivery"].asBool()) continue;
    BOOST_TEST(x["body"].asString() == body);
    BOOST_TEST(signature_ok(x["headers"]["Stripe-Signature"].asString(), x["body"].asString(), webhook_secret()));
  }
}

BOOST_AUTO_TEST_CASE(extra_endpoint_filters_events_signs_with_its_secret_and_retries) {
  const std::string secret = "whsec_" + crypto::random_hex(16);
  // Port 9 (discard) is closed on the test machine: every attempt fails fast.
  auto add = control("POST", "/webhook-endpoints",
                     "{\"url\":\"http://127.0.0.1:9/hook\",\"secret\":\"" + secret +
                         "\",\"enabled_events\":[\"checkout.session.completed\"],\"add_v0\":true}");
  BOOST_TEST_REQUIRE(add.status == 200, add.body);
  const std::string ep = add.json()["id"].asString();
  BOOST_TEST(add.body.find(secret) == std::string::npos);  // secrets are not echoed
  Json::Value s = paid_session(5000);
  auto completed = events_for("checkout.session.completed", s["id"].asString());
  BOOST_TEST_REQUIRE(completed.size() == 1u);
  BOOST_TEST(completed[0]["pending_webhooks"].asInt() >= 1);
  const std::string evt = completed[0]["id"].asString();
  // 1 try + 3 retries after 1 s, 2 s, 4 s.
  Json::Value attempts = attempts_of(evt, 4, ep, 15000);
  BOOST_TEST_REQUIRE(attempts.size() == 4u);
  for (Json::ArrayIndex i = 0; i < attempts.size(); ++i) {
    const Json::Value& a = attempts[i];
    BOOST_TEST(a["attempt"].asInt() == static_cast<int>(i) + 1);
    BOOST_TEST(a["outcome"].asString() != "ok");
    BOOST_TEST(a["will_retry"].asBool() == (i < 3));
    const std::string sig = a["headers"]["Stripe-Signature"].asString();
    BOOST_TEST(sig.find(",v0=") != std::string::npos);
    BOOST_TEST(signature_ok(sig, a["body"].asString(), secret));
    BOOST_TEST(!signature_ok(sig, a["body"].asString(), webhook_secret()));
  }
  BOOST_TEST(attempts[3]["at"].asInt64() - attempts[0]["at"].asInt64() >= 6);
  // Only the subscribed type reached it.
  auto pi_events = events_for("payment_intent.succeeded", s["payment_intent"]["id"].asString());
  BOOST_TEST_REQUIRE(pi_events.size() == 1u);
  BOOST_TEST(attempts_of(pi_events[0]["id"].asString(), 1, ep, 300).size() == 0u);
  BOOST_TEST(control("DELETE", "/webhook-endpoints/" + ep).status == 200);
  BOOST_TEST(control("DELETE", "/webhook-endpoints/" + ep).status == 404);
}

BOOST_AUTO_TEST_CASE(hold_then_release_and_duplicate_modes) {
  BOOST_TEST_REQUIRE(control("POST", "/delivery-mode", "{\"mode\":\"hold\"}").status == 200);
  Json::Value s = paid_session(5000);
  auto completed = events_for("checkout.session.completed", s["id"].asString());
  BOOST_TEST_REQUIRE(completed.size() == 1u);
  const std::string evt = completed[0]["id"].asString();
  BOOST_TEST(attempts_of(evt, 1, "we_default", 500).size() == 0u);
  BOOST_TEST(control("GET", "/state").json()["delivery"]["held"].asInt() >= 4);
  auto rel = control("POST", "/deliveries/release");
  BOOST_TEST(rel.json()["released"].asInt() >= 4);
  BOOST_TEST(attempts_of(evt, 1, "we_default").size() >= 1u);

  BOOST_TEST_REQUIRE(control("POST", "/delivery-mode", "{\"mode\":\"duplicate\"}").status == 200);
  Json::Value s2 = paid_session(5000);
  auto completed2 = events_for("checkout.session.completed", s2["id"].asString());
  BOOST_TEST_REQUIRE(completed2.size() == 1u);
  auto dup = attempts_of(completed2[0]["id"].asString(), 2, "we_default");
  BOOST_TEST(dup.size() >= 2u);
  int first_attempts = 0;
  for (const auto& a : dup) if (a["attempt"].asInt() == 1) ++first_attempts;
  BOOST_TEST(first_attempts == 2);
  // Shuffle: every event of the payment still arrives (in some order).
  BOOST_TEST_REQUIRE(control("POST", "/delivery-mode", "{\"mode\":\"shuffle\"}").status == 200);
  Json::Value s4 = paid_session(5000);
  const std::string pi4 = s4["payment_intent"]["id"].asString();
  for (const char* type : {"payment_intent.created", "payment_intent.succeeded"}) {
    auto evs = events_for(type, pi4);
    BOOST_TEST_REQUIRE(evs.size() == 1u);
    BOOST_TEST(attempts_of(evs[0]["id"].asString(), 1, "we_default").size() >= 1u);
  }
  // Delay: nothing for a while, then the deliveries.
  BOOST_TEST_REQUIRE(control("POST", "/delivery-mode", "{\"mode\":\"delay\",\"delay_ms\":2000}").status == 200);
  Json::Value s3 = paid_session(5000);
  auto completed3 = events_for("checkout.session.completed", s3["id"].asString());
  BOOST_TEST_REQUIRE(completed3.size() == 1u);
  BOOST_TEST(attempts_of(completed3[0]["id"].asString(), 1, "we_default", 300).size() == 0u);
  BOOST_TEST(attempts_of(completed3[0]["id"].asString(), 1, "we_default", 8000).size() >= 1u);
  BOOST_TEST(control("POST", "/delivery-mode", "{\"mode\":\"bogus\"}").status == 400);
  BOOST_TEST(control("POST", "/delivery-mode", "{\"mode\":\"normal\"}").status == 200);
}

BOOST_AUTO_TEST_CASE(faults_500_429_and_drop_after_processing) {
  auto f = control("POST", "/faults", "{\"path_prefix\":\"/v1/checkout/sessions\",\"kind\":\"500\",\"count\":1}");
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  const std::string key = unique("fault");
  auto r500 = api_post("/v1/checkout/sessions", session_form(5000), key);
  BOOST_TEST(r500.status == 500);
  BOOST_TEST(r500.headers["stripe-should-retry"] == "true");
  BOOST_TEST(error_type(r500) == "api_error");
  auto ok = api_post("/v1/checkout/sessions", session_form(5000), key);  // fault used up; key was never stored
  BOOST_TEST(ok.status == 200, ok.body);
  BOOST_TEST(ok.headers.count("idempotent-replayed") == 0u);

  control("POST", "/faults", "{\"path_prefix\":\"/v1/events\",\"kind\":\"429\"}");
  auto r429 = api_get("/v1/events", {{"limit", "1"}});
  BOOST_TEST(r429.status == 429);
  BOOST_TEST(error_code(r429) == "rate_limit");
  BOOST_TEST(api_get("/v1/events", {{"limit", "1"}}).status == 200);

  // Drop: processed and stored, but the reply never arrives; the retry with
  // the same key gets the stored session.
  const int64_t before = control("GET", "/state").json()["objects"]["checkout_sessions"].asInt64();
  control("POST", "/faults", "{\"path_prefix\":\"/v1/checkout/sessions\",\"kind\":\"drop\"}");
  const std::string dkey = unique("drop");
  http_client::HttpRequest req;
  req.method = "POST";
  req.url = stripe_url() + "/v1/checkout/sessions";
  req.headers = auth();
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Idempotency-Key", dkey);
  req.body = encode(session_form(5000));
  auto dropped = http_client::perform(req);
  BOOST_TEST(!dropped);
  auto retry = api_post("/v1/checkout/sessions", session_form(5000), dkey);
  BOOST_TEST(retry.status == 200, retry.body);
  BOOST_TEST(retry.headers["idempotent-replayed"] == "true");
  BOOST_TEST(control("GET", "/state").json()["objects"]["checkout_sessions"].asInt64() == before + 1);
  control("POST", "/faults", "{\"path_prefix\":\"/v1/refunds\",\"kind\":\"409\"}");
  auto r409 = api_get("/v1/refunds", {{"limit", "1"}});
  BOOST_TEST(r409.status == 409);
  BOOST_TEST(error_code(r409) == "lock_timeout");
  BOOST_TEST(control("POST", "/faults", "{\"kind\":\"teapot\"}").status == 400);
}

BOOST_AUTO_TEST_CASE(events_list_filters_and_pages) {
  const int64_t since = std::time(nullptr) - 1;
  paid_session(5000);
  paid_session(5000);
  auto all = api_get("/v1/events", {{"type", "checkout.session.*"}, {"created[gte]", std::to_string(since)}, {"limit", "100"}});
  BOOST_TEST_REQUIRE(all.status == 200, all.body);
  const Json::Value data = all.json()["data"];
  BOOST_TEST(data.size() >= 2u);
  for (const auto& e : data) {
    BOOST_TEST(e["type"].asString().rfind("checkout.session.", 0) == 0u);
    BOOST_TEST(e["created"].asInt64() >= since);
  }
  auto page1 = api_get("/v1/events", {{"limit", "1"}, {"type", "checkout.session.completed"}});
  BOOST_TEST(page1.json()["data"].size() == 1u);
  BOOST_TEST(page1.json()["has_more"].asBool());
  const std::string first = page1.json()["data"][0]["id"].asString();
  auto page2 = api_get("/v1/events", {{"limit", "1"}, {"type", "checkout.session.completed"}, {"starting_after", first}});
  BOOST_TEST(page2.json()["data"].size() == 1u);
  BOOST_TEST(page2.json()["data"][0]["id"].asString() != first);
  BOOST_TEST(page2.json()["data"][0]["created"].asInt64() <= page1.json()["data"][0]["created"].asInt64());
  auto one = api_get("/v1/events/" + first);
  BOOST_TEST(one.status == 200);
  BOOST_TEST(one.json()["id"].asString() == first);
  BOOST_TEST(api_get("/v1/events", {{"limit", "1000"}}).status == 400);
  BOOST_TEST(api_get("/v1/events", {{"starting_after", "evt_missing"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(state_counts_sessions_by_status) {
  auto st = control("GET", "/state").json();
  BOOST_TEST(st["sessions"].isMember("open"));
  BOOST_TEST(st["sessions"]["complete"].asInt() >= 0);
  BOOST_TEST(st["counters"]["requests"].asInt64() > 0);
  const int64_t complete = st["sessions"]["complete"].asInt64();
  paid_session(5000);
  BOOST_TEST(control("GET", "/state").json()["sessions"]["complete"].asInt64() == complete + 1);
}

BOOST_AUTO_TEST_SUITE_END()
