/* test_payments_policy.cpp: the pure parts of payments: refund policy
 * parsing and windows at their boundaries, coach cancellations, rounding in
 * minor units, zero-decimal currencies (JPY), money formatting, tax included
 * in prices, the derived payment status, and the Stripe form encoding of a
 * checkout. No servers. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE payments_policy
#include <boost/test/unit_test.hpp>

#include "payments.hpp"
#include "stripe_client.hpp"

using namespace coach;
using payments::parse_policy;
using payments::quote_refund;

namespace {
constexpr int64_t H = 3600;
payments::RefundPolicy dflt() { return *parse_policy("24h:100,2h:50"); }
}  // namespace

BOOST_AUTO_TEST_CASE(default_policy_windows_at_the_boundaries) {
  auto p = dflt();
  BOOST_TEST(quote_refund(p, 9900, 0, 48 * H, false).amount_minor == 9900);
  BOOST_TEST(quote_refund(p, 9900, 0, 24 * H, false).amount_minor == 9900);       // exactly 24 h: full
  BOOST_TEST(quote_refund(p, 9900, 0, 24 * H - 1, false).amount_minor == 4950);   // a second less: half
  BOOST_TEST(quote_refund(p, 9900, 0, 2 * H, false).amount_minor == 4950);        // exactly 2 h: half
  BOOST_TEST(quote_refund(p, 9900, 0, 2 * H - 1, false).amount_minor == 0);       // inside 2 h: none
  BOOST_TEST(quote_refund(p, 9900, 0, 0, false).amount_minor == 0);
  BOOST_TEST(quote_refund(p, 9900, 0, -600, false).amount_minor == 0);            // after the start
  BOOST_TEST(quote_refund(p, 9900, 0, 24 * H - 1, false).percent == 50);
}

BOOST_AUTO_TEST_CASE(coach_cancellation_refunds_in_full_at_any_time) {
  auto p = dflt();
  BOOST_TEST(quote_refund(p, 9900, 0, 60, true).amount_minor == 9900);
  BOOST_TEST(quote_refund(p, 9900, 0, -60, true).amount_minor == 9900);
  BOOST_TEST(quote_refund(*parse_policy("none"), 9900, 0, 100 * H, true).amount_minor == 9900);
  BOOST_TEST(quote_refund(p, 9900, 0, 60, true).percent == 100);
}

BOOST_AUTO_TEST_CASE(rounding_down_in_minor_units_and_capped_by_the_remainder) {
  auto p = dflt();
  BOOST_TEST(quote_refund(p, 999, 0, 3 * H, false).amount_minor == 499);          // 499.5 -> 499
  BOOST_TEST(quote_refund(p, 1, 0, 3 * H, false).amount_minor == 0);              // 0.5 -> 0
  auto third = *parse_policy("1h:33");
  BOOST_TEST(quote_refund(third, 1000, 0, 2 * H, false).amount_minor == 330);
  BOOST_TEST(quote_refund(third, 1001, 0, 2 * H, false).amount_minor == 330);     // 330.33 -> 330
  // Already partly refunded: never more than what is left.
  BOOST_TEST(quote_refund(p, 9900, 9000, 48 * H, false).amount_minor == 900);
  BOOST_TEST(quote_refund(p, 9900, 9900, 48 * H, true).amount_minor == 0);
  BOOST_TEST(quote_refund(p, 9900, 12000, 48 * H, true).amount_minor == 0);
  // Large amounts do not overflow.
  BOOST_TEST(quote_refund(p, 900000000000LL, 0, 3 * H, false).amount_minor == 450000000000LL);
}

BOOST_AUTO_TEST_CASE(jpy_is_zero_decimal) {
  BOOST_TEST(payments::currency_decimals("JPY") == 0);
  BOOST_TEST(payments::currency_decimals("jpy") == 0);
  BOOST_TEST(payments::currency_decimals("KRW") == 0);
  BOOST_TEST(payments::currency_decimals("USD") == 2);
  BOOST_TEST(payments::currency_decimals("KWD") == 3);
  BOOST_TEST(payments::format_money(5000, "JPY") == "5000 JPY");
  BOOST_TEST(payments::format_money(5001, "jpy") == "5001 JPY");
  auto p = dflt();
  BOOST_TEST(quote_refund(p, 5001, 0, 3 * H, false).amount_minor == 2500);        // yen are whole
  BOOST_TEST(payments::format_money(quote_refund(p, 5001, 0, 3 * H, false).amount_minor, "JPY") == "2500 JPY");
}

BOOST_AUTO_TEST_CASE(money_formatting) {
  BOOST_TEST(payments::format_money(9900, "usd") == "99.00 USD");
  BOOST_TEST(payments::format_money(4950, "EUR") == "49.50 EUR");
  BOOST_TEST(payments::format_money(5, "USD") == "0.05 USD");
  BOOST_TEST(payments::format_money(0, "USD") == "0.00 USD");
  BOOST_TEST(payments::format_money(-150, "USD") == "-1.50 USD");
  BOOST_TEST(payments::format_money(1234567, "KWD") == "1234.567 KWD");
  BOOST_TEST(payments::format_money(5, "KWD") == "0.005 KWD");
}

BOOST_AUTO_TEST_CASE(policy_parsing) {
  auto p = parse_policy(" 2h:50, 24h:100 ");
  BOOST_TEST_REQUIRE(p.ok());
  BOOST_TEST_REQUIRE(p->tiers.size() == 2u);
  BOOST_TEST(p->tiers[0].min_seconds_before == 24 * H);   // sorted: longest notice first
  BOOST_TEST(p->tiers[1].percent == 50);
  BOOST_TEST(parse_policy("7d:100,90m:10")->tiers[1].min_seconds_before == 90 * 60);
  BOOST_TEST(parse_policy("none")->tiers.empty());
  BOOST_TEST(payments::describe_policy(*p) == "100 % up to 24 h before the start, 50 % up to 2 h before the start, none after");
  for (const char* bad : {"", "24:100", "24h:101", "h:50", "24h", "24h:-5", "24x:50", "24h:50,24h:20", "abc"}) {
    auto r = parse_policy(bad);
    BOOST_TEST(!r.ok(), bad);
    if (!r.ok()) BOOST_TEST(r.error().code == "invalid_policy");
  }
  // A free refund at any notice: "0h:100".
  BOOST_TEST(quote_refund(*parse_policy("0h:100"), 500, 0, 0, false).amount_minor == 500);
  BOOST_TEST(quote_refund(*parse_policy("0h:100"), 500, 0, -1, false).amount_minor == 0);
}

BOOST_AUTO_TEST_CASE(tax_included_in_the_price) {
  auto t = payments::split_tax(12000, 2000);   // 20 % VAT included in 120.00
  BOOST_TEST(t.tax_minor == 2000);
  BOOST_TEST(t.net_minor == 10000);
  auto u = payments::split_tax(9900, 1900);    // 19 %: 1580.67 -> 1581
  BOOST_TEST(u.tax_minor == 1581);
  BOOST_TEST(u.net_minor + u.tax_minor == 9900);
  auto z = payments::split_tax(9900, 0);
  BOOST_TEST(z.tax_minor == 0);
  BOOST_TEST(z.net_minor == 9900);
  auto y = payments::split_tax(5000, 1000);    // JPY 10 %: 454.5 -> 455
  BOOST_TEST(y.tax_minor == 455);
}

BOOST_AUTO_TEST_CASE(derived_status_converges_whatever_the_order) {
  using payments::derive_status;
  BOOST_TEST(derive_status(false, false, false, 0, 0) == "pending");
  BOOST_TEST(derive_status(false, false, true, 0, 0) == "failed");
  BOOST_TEST(derive_status(false, true, true, 0, 0) == "expired");
  BOOST_TEST(derive_status(true, false, true, 9900, 0) == "paid");             // a late payment_failed never downgrades
  BOOST_TEST(derive_status(true, true, false, 9900, 0) == "paid");
  BOOST_TEST(derive_status(true, false, false, 9900, 4950) == "partially_refunded");
  BOOST_TEST(derive_status(true, false, false, 9900, 9900) == "refunded");
  BOOST_TEST(derive_status(false, false, false, 0, 9900) == "pending");        // refund seen first: counted once paid
}

BOOST_AUTO_TEST_CASE(checkout_form_encoding) {
  stripe::CheckoutRequest r;
  r.unit_amount_minor = 5000;
  r.currency = "JPY";
  r.product_name = "Strategy session with Jane (60 min)";
  r.success_url = "http://x/book/paid?session_id={CHECKOUT_SESSION_ID}";
  r.cancel_url = "http://x/book/paid?payment=1";
  r.customer_email = "a+b@example.com";
  r.client_reference_id = "intent_7";
  r.metadata = {{"booking_intent_id", "7"}, {"payment_id", "1"}};
  r.expires_at = 1700001800;
  const std::string body = stripe::form_encode(stripe::checkout_params(r));
  BOOST_TEST(body.find("mode=payment") == 0u);
  BOOST_TEST(body.find("line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=jpy") != std::string::npos);
  BOOST_TEST(body.find("line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=5000") != std::string::npos);
  BOOST_TEST(body.find("session_id%3D%7BCHECKOUT_SESSION_ID%7D") != std::string::npos);   // braces encoded on the wire only
  BOOST_TEST(body.find("customer_email=a%2Bb%40example.com") != std::string::npos);
  BOOST_TEST(body.find("metadata%5Bbooking_intent_id%5D=7") != std::string::npos);
  BOOST_TEST(body.find("payment_intent_data%5Bmetadata%5D%5Bbooking_intent_id%5D=7") != std::string::npos);
  BOOST_TEST(body.find("expires_at=1700001800") != std::string::npos);
  BOOST_TEST(body.find("invoice_creation%5Benabled%5D=true") != std::string::npos);
  BOOST_TEST(body.find("Strategy%20session%20with%20Jane%20%2860%20min%29") != std::string::npos);
  BOOST_TEST(body.find(' ') == std::string::npos);
}
