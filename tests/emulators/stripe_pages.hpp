/* stripe_pages.hpp: the emulator's browser pages, standing in for
 * checkout.stripe.com and pay.stripe.com: the hosted Checkout page
 * (session.url = <base>/pay/<cs_id>) with "Pay" and "Decline", the receipt
 * page behind charge.receipt_url and the hosted invoice page. Every value is
 * HTML-escaped. Handlers run with State::mu held. */
#pragma once
#include "stripe_api.hpp"

namespace stripe_emu {

using coach::html::attr;
using coach::html::text;

inline Reply html_reply(int status, const std::string& title, const std::string& body) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" + text(title) + "</title><style>"
      "body{font-family:system-ui,sans-serif;background:#f6f9fc;color:#1a1f36;margin:0}"
      "main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;"
      "box-shadow:0 2px 8px rgba(0,0,0,.08)}"
      ".mode{display:inline-block;background:#ffde92;color:#5e3b00;font-size:.75rem;padding:.1rem .4rem;border-radius:4px}"
      "table{width:100%;border-collapse:collapse;margin:1rem 0}td,th{padding:.4rem 0;text-align:left}"
      "td.num,th.num{text-align:right}.total{font-size:1.3rem}"
      ".error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:4px}"
      ".notice{background:#e8f0fe;padding:.6rem;border-radius:4px}"
      "label{display:block;margin:.5rem 0}input{width:100%;padding:.4rem;box-sizing:border-box}"
      "button{padding:.6rem 1.2rem;margin:.8rem .5rem 0 0;font-size:1rem;border-radius:4px;border:1px solid #635bff}"
      "button.pay{background:#635bff;color:#fff}button.decline{background:#fff;color:#635bff}"
      "</style></head><body><main>\n<p><span class=\"mode\">TEST MODE</span> Stripe emulator</p>\n" +
      body + "\n</main></body></html>\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline std::string items_table(const State& st, const std::string& cs_id, const std::string& currency) {
  std::string rows;
  auto li = st.line_items.find(cs_id);
  if (li != st.line_items.end()) {
    for (const auto& item : li->second) {
      rows += "<tr class=\"line-item\"><td>" + text(item["description"].asString()) + "</td><td class=\"num\">" +
              std::to_string(item["quantity"].asInt64()) + " &times; " +
              text(format_money(item["price"]["unit_amount"].asInt64(), currency)) + "</td><td class=\"num\">" +
              text(format_money(item["amount_total"].asInt64(), currency)) + "</td></tr>";
    }
  }
  return "<table><thead><tr><th>Item</th><th class=\"num\">Quantity</th><th class=\"num\">Amount</th></tr></thead>"
         "<tbody>" + rows + "</tbody></table>";
}

/* The hosted Checkout page of a session in any state; `error` is shown
 * above the form (a declined card, a bad e-mail). */
inline Reply checkout_page(const State& st, const Json::Value& s, int status, const std::string& error) {
  const std::string id = s["id"].asString();
  const std::string cur = s["currency"].asString();
  const std::string total = format_money(s["amount_total"].asInt64(), cur);
  std::string body = "<h1>Checkout</h1>\n" + items_table(st, id, cur) +
                     "<p class=\"total\">Total due <strong id=\"amount-total\" data-amount=\"" +
                     std::to_string(s["amount_total"].asInt64()) + "\" data-currency=\"" + attr(cur) + "\">" +
                     text(total) + "</strong></p>\n";
  const std::string state = s["status"].asString();
  const std::string back = s["cancel_url"].isString()
                               ? "<p><a id=\"cancel\" href=\"" + attr(s["cancel_url"].asString()) + "\">&larr; Back</a></p>"
                               : "";
  if (state == "expired") {
    body += "<p class=\"error\" role=\"alert\" id=\"session-expired\">This checkout session has expired. "
            "Nothing was charged; please go back and start again.</p>" + back;
    return html_reply(status == 200 ? 410 : status, "Checkout expired", body);
  }
  if (state == "complete") {
    body += "<p class=\"notice\" role=\"status\" id=\"session-complete\">This payment is already complete. "
            "Thank you!</p><p><a href=\"" + attr(s["success_url"].asString()) + "\">Continue</a></p>";
    return html_reply(status, "Payment complete", body);
  }
  if (!error.empty()) body += "<p class=\"error\" role=\"alert\" id=\"payment-error\">" + text(error) + "</p>\n";
  // Test mode prefills a card and, when the session names no customer, an
  // e-mail address, so one click on "Pay" completes the payment.
  const std::string email = s["customer_email"].isString() ? s["customer_email"].asString() : "customer@example.test";
  body += "<form method=\"post\" action=\"/pay/" + attr(id) + "\">"
          "<label>E-mail <input type=\"email\" name=\"email\" value=\"" + attr(email) + "\" autocomplete=\"email\"></label>"
          "<label>Name on card <input type=\"text\" name=\"name\" value=\"\" autocomplete=\"cc-name\"></label>"
          "<label>Card number <input type=\"text\" name=\"card\" value=\"4242 4242 4242 4242\" readonly></label>"
          "<button type=\"submit\" class=\"pay\" id=\"pay\" name=\"outcome\" value=\"success\">Pay</button>"
          "<button type=\"submit\" class=\"decline\" id=\"decline\" name=\"outcome\" value=\"decline\">Decline</button>"
          "</form>\n" + back;
  return html_reply(status, "Pay " + total, body);
}

inline Reply not_found_page(const std::string& what) {
  return html_reply(404, "Not found", "<h1>Not found</h1><p class=\"error\" role=\"alert\">" + text(what) + "</p>");
}

/* GET /pay/:id */
inline Reply handle_pay_page(Call& c) {
  sweep_expired(c.st, c.cfg, c.new_events);
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return not_found_page("No such checkout session: " + c.params[0]);
  return checkout_page(c.st, it->second, 200, "");
}

/* POST /pay/:id  outcome=success|decline&email=&name= (the page's form). */
inline Reply handle_pay_submit(Call& c) {
  auto it = c.st.sessions.find(c.params[0]);
  if (it == c.st.sessions.end()) return not_found_page("No such checkout session: " + c.params[0]);
  Json::Value form;
  if (decode_form(c.req.body, form)) return checkout_page(c.st, it->second, 400, "The form could not be read.");
  auto field = [&](const char* k) { return form.isMember(k) && form[k].isString() ? form[k].asString() : std::string(); };
  const std::string outcome = field("outcome");
  if (outcome != "success" && outcome != "decline") {
    return checkout_page(c.st, it->second, 400, "Press Pay or Decline.");
  }
  PayResult r = pay_session(c.st, c.cfg, c.base_url, c.params[0], outcome == "success", field("email"), field("name"),
                            c.new_events);
  if (r.paid) {
    Reply rep;
    rep.status = 303;
    rep.content_type = "text/html; charset=utf-8";
    rep.headers.emplace_back("Location", r.redirect_url);
    rep.body = "<!doctype html><p>Payment complete. <a href=\"" + attr(r.redirect_url) + "\">Continue</a></p>\n";
    return rep;
  }
  // Declined or not payable: the page again (status 200 so a browser shows it as a normal page).
  return checkout_page(c.st, it->second, r.status == 402 ? 200 : r.status, r.error);
}

/* GET /receipts/:ch_id: what charge.receipt_url shows; current with refunds. */
inline Reply handle_receipt_page(Call& c) {
  auto it = c.st.charges.find(c.params[0]);
  if (it == c.st.charges.end() || it->second["status"].asString() != "succeeded") {
    return not_found_page("No such receipt: " + c.params[0]);
  }
  const Json::Value& ch = it->second;
  const std::string cur = ch["currency"].asString();
  const int64_t amount = ch["amount"].asInt64(), refunded = ch["amount_refunded"].asInt64();
  std::string body = "<h1>Receipt</h1><table>"
                     "<tr><th>Amount paid</th><td class=\"num\" id=\"amount-paid\">" + text(format_money(amount, cur)) +
                     "</td></tr><tr><th>Date</th><td class=\"num\">" + std::to_string(ch["created"].asInt64()) +
                     " (unix)</td></tr><tr><th>Payment method</th><td class=\"num\">Visa &bull;&bull;&bull;&bull; " +
                     text(ch["payment_method_details"]["card"]["last4"].asString()) + "</td></tr>";
  if (ch["billing_details"]["email"].isString()) {
    body += "<tr><th>E-mail</th><td class=\"num\">" + text(ch["billing_details"]["email"].asString()) + "</td></tr>";
  }
  if (ch["description"].isString()) {
    body += "<tr><th>Description</th><td class=\"num\">" + text(ch["description"].asString()) + "</td></tr>";
  }
  body += "</table>";
  std::string rows;
  for (const auto& re : refunds_of_charge(c.st, c.params[0])) {
    rows += "<tr class=\"refund\"><td>" + text(re["id"].asString()) + "</td><td>" + text(re["status"].asString()) +
            "</td><td class=\"num\">-" + text(format_money(re["amount"].asInt64(), cur)) + "</td></tr>";
  }
  if (!rows.empty()) body += "<h2>Refunds</h2><table>" + rows + "</table>";
  body += "<p>Refunded so far: <strong id=\"amount-refunded\">" + text(format_money(refunded, cur)) +
          "</strong>" + (ch["refunded"].asBool() ? " (fully refunded)" : "") + "</p><p>Net: <strong id=\"amount-net\">" +
          text(format_money(amount - refunded, cur)) + "</strong></p>";
  return html_reply(200, "Receipt", body);
}

/* GET /invoices/:id and /invoices/:id/pdf (an HTML rendering stands in for
 * the PDF). */
inline Reply handle_invoice_page(Call& c) {
  auto it = c.st.invoices.find(c.params[0]);
  if (it == c.st.invoices.end()) return not_found_page("No such invoice: " + c.params[0]);
  const Json::Value& in = it->second;
  const std::string cur = in["currency"].asString();
  std::string rows;
  for (const auto& l : in["lines"]["data"]) {
    rows += "<tr><td>" + text(l["description"].asString()) + "</td><td class=\"num\">" +
            std::to_string(l["quantity"].asInt64()) + "</td><td class=\"num\">" +
            text(format_money(l["amount"].asInt64(), cur)) + "</td></tr>";
  }
  std::string body = "<h1>Invoice " + text(in["number"].asString()) + "</h1><p>Status: " + text(in["status"].asString()) +
                     "</p><table>" + rows + "</table><p class=\"total\">Paid <strong>" +
                     text(format_money(in["amount_paid"].asInt64(), cur)) + "</strong></p>";
  if (in["description"].isString()) body += "<p>" + text(in["description"].asString()) + "</p>";
  if (in["footer"].isString()) body += "<footer>" + text(in["footer"].asString()) + "</footer>";
  return html_reply(200, "Invoice " + in["number"].asString(), body);
}

}  // namespace stripe_emu
