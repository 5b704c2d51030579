/* payments.cpp: Stripe payments for priced bookings: checkout, the webhook
 * inbox and its convergent apply, finalize / refund / reconcile / e-mail jobs,
 * refund policy, receipts. See payments.hpp for the design. */
#include "payments.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include "booking_hooks.hpp"
#include "bookings.hpp"
#include "crypto.hpp"
#include "html.hpp"
#include "http.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "slot_engine.hpp"
#include "smtp.hpp"
#include "stripe_client.hpp"
#include "stripe_sig.hpp"

namespace coach::payments {
namespace {

constexpr int kCheckoutTtlS = 31 * 60;      // Stripe wants 30 min .. 24 h; a minute of slack
constexpr int kHoldSlackS = 5 * 60;         // the slot hold outlives the checkout by this much
constexpr int kMaxEventAttempts = 8;
constexpr const char* kDefaultPolicy = "24h:100,2h:50";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

/* Unix seconds as UTC text in strftime format fmt. */
std::string utc_text(int64_t t, const char* fmt) {
  std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

std::string iso_of(int64_t t) { return utc_text(t, "%Y-%m-%dT%H:%M:%SZ"); }
std::string day_of(int64_t t) { return utc_text(t, "%d %b %Y"); }
std::string when_of(int64_t t) { return utc_text(t, "%a %d %b %Y, %H:%M UTC"); }

/* "2026-12-16 04:00 America/Los_Angeles": the session time in the agent's zone. */
std::string when_in(int64_t t, const std::string& zone) {
  if (zone.empty() || zone == "UTC" || !slots::is_valid_zone(zone)) return when_of(t);
  const std::string iso = slots::format_iso(slots::Instant(std::chrono::seconds(t)), zone);
  if (iso.size() < 16) return when_of(t);
  return iso.substr(0, 10) + " " + iso.substr(11, 5) + " " + zone;
}

/* ------------------------------------------------------------ the row */

struct Pay {
  int64_t id = 0, intent_id = 0, attempt = 1, agent_user_id = 0, coach_user_id = 0, cal_event_type_id = 0;
  int64_t start_s = 0, end_s = 0, amount_minor = 0, amount_paid_minor = 0, stripe_refunded_minor = 0;
  int64_t refunded_minor = 0, invoice_number = 0, paid_at_s = 0, expires_s = 0, tax_rate_bps = 0;
  std::string time_zone, responses_json, description, currency, status, last_failure, session_id, checkout_url;
  std::string payment_intent_id, charge_id, stripe_receipt_url, stripe_invoice_id, customer_email, tax_name;
  std::string booking_uid, finalize_state, finalize_error;
  bool is_paid = false, is_expired = false;
};

const char* kPaySelect =
    "SELECT id, intent_id, attempt, agent_user_id, coach_user_id, cal_event_type_id, UNIX_TIMESTAMP(start_utc) AS start_s, "
    "UNIX_TIMESTAMP(end_utc) AS end_s, time_zone, responses_json, description, amount_minor, currency, status, is_paid, "
    "is_expired, amount_paid_minor, stripe_refunded_minor, refunded_minor, last_failure, checkout_session_id, "
    "checkout_url, UNIX_TIMESTAMP(checkout_expires_at) AS expires_s, payment_intent_id, charge_id, stripe_receipt_url, "
    "stripe_invoice_id, customer_email, invoice_number, tax_rate_bps, tax_name, UNIX_TIMESTAMP(paid_at) AS paid_at_s, "
    "booking_uid, finalize_state, finalize_error FROM payments ";

Pay pay_of(const db::Row& r) {
  Pay p;
  p.id = r.i64("id");
  p.intent_id = r.i64("intent_id");
  p.attempt = r.i64("attempt", 1);
  p.agent_user_id = r.i64("agent_user_id");
  p.coach_user_id = r.i64("coach_user_id");
  p.cal_event_type_id = r.i64("cal_event_type_id");
  p.start_s = r.i64("start_s");
  p.end_s = r.i64("end_s");
  p.time_zone = r.str("time_zone");
  p.responses_json = r.str("responses_json");
  p.description = r.str("description");
  p.amount_minor = r.i64("amount_minor");
  p.currency = r.str("currency");
  p.status = r.str("status");
  p.is_paid = r.i64("is_paid") != 0;
  p.is_expired = r.i64("is_expired") != 0;
  p.amount_paid_minor = r.i64("amount_paid_minor");
  p.stripe_refunded_minor = r.i64("stripe_refunded_minor");
  p.refunded_minor = r.i64("refunded_minor");
  p.last_failure = r.str("last_failure");
  p.session_id = r.str("checkout_session_id");
  p.checkout_url = r.str("checkout_url");
  p.expires_s = r.i64("expires_s");
  p.payment_intent_id = r.str("payment_intent_id");
  p.charge_id = r.str("charge_id");
  p.stripe_receipt_url = r.str("stripe_receipt_url");
  p.stripe_invoice_id = r.str("stripe_invoice_id");
  p.customer_email = r.str("customer_email");
  p.invoice_number = r.i64("invoice_number");
  p.tax_rate_bps = r.i64("tax_rate_bps");
  p.tax_name = r.str("tax_name");
  p.paid_at_s = r.i64("paid_at_s");
  p.booking_uid = r.str("booking_uid");
  p.finalize_state = r.str("finalize_state");
  p.finalize_error = r.str("finalize_error");
  return p;
}

std::optional<Pay> load_pay(db::Db& db, const std::string& where, const std::vector<db::Param>& params,
                            bool for_update = false) {
  auto r = db.query_one(std::string(kPaySelect) + where + " LIMIT 1" + (for_update ? " FOR UPDATE" : ""), params);
  if (!r) return std::nullopt;
  return pay_of(*r);
}

std::optional<Pay> load_by_id(db::Db& db, int64_t id, bool for_update = false) {
  return load_pay(db, "WHERE id = ?", {id}, for_update);
}

/* Status and refunded_minor from the facts (inside tx, the row locked). */
void recompute(db::Db& tx, int64_t payment_id) {
  auto p = load_by_id(tx, payment_id, true);
  if (!p) return;
  auto s = tx.query_one("SELECT COALESCE(SUM(amount_minor), 0) AS n FROM payment_refunds "
                        "WHERE payment_id = ? AND status = 'succeeded'",
                        {payment_id});
  int64_t ours = s ? s->i64("n") : 0;
  int64_t refunded = std::max(ours, p->stripe_refunded_minor);
  if (p->is_paid) refunded = std::min(refunded, p->amount_paid_minor);
  const std::string st = derive_status(p->is_paid, p->is_expired, !p->last_failure.empty(), p->amount_paid_minor, refunded);
  tx.exec("UPDATE payments SET status = ?, refunded_minor = ? WHERE id = ?", {st, refunded, payment_id});
}

/* What is still refundable: paid minus every refund not failed/canceled (or
 * Stripe's own figure when higher). */
int64_t remainder_of(db::Db& tx, const Pay& p) {
  auto s = tx.query_one("SELECT COALESCE(SUM(amount_minor), 0) AS n FROM payment_refunds "
                        "WHERE payment_id = ? AND status IN ('queued','pending','succeeded')",
                        {p.id});
  int64_t active = s ? s->i64("n") : 0;
  return std::max<int64_t>(0, p.amount_paid_minor - std::max(active, p.stripe_refunded_minor));
}

RefundPolicy policy_for(const Config& cfg, db::Db& db, int64_t cal_event_type_id, std::string* text_out) {
  std::string text;
  if (auto r = db.query_one("SELECT refund_policy FROM EventType WHERE cal_event_type_id = ?", {cal_event_type_id}))
    text = r->str("refund_policy");
  if (!text.empty()) {
    if (auto p = parse_policy(text)) {
      if (text_out) *text_out = describe_policy(*p);
      return *p;
    }
    log::warn("payments: bad refund_policy on a session type, using the platform's",
              {{"event_type", std::to_string(cal_event_type_id)}});
  }
  auto p = parse_policy(cfg.refund_policy);
  if (!p) {
    log::warn("payments: bad refund-policy config, using the default", {});
    p = parse_policy(kDefaultPolicy);
  }
  if (text_out) *text_out = describe_policy(*p);
  return *p;
}

/* Inserts a refund of amount (capped by the remainder) under the payment's
 * lock, with its Stripe job. Returns the refund id (0: nothing to refund).
 * A second call with the same key returns the first refund's id. */
int64_t queue_refund(db::Db& tx, const Pay& p, int64_t amount, const std::string& reason, const std::string& note,
                     int64_t by_user, const std::string& key) {
  if (auto prior = tx.query_one("SELECT id FROM payment_refunds WHERE idempotency_key = ?", {key}))
    return prior->i64("id");
  amount = std::min(amount, remainder_of(tx, p));
  if (amount <= 0) return 0;
  tx.exec("INSERT INTO payment_refunds (payment_id, amount_minor, reason, note, requested_by_user_id, idempotency_key) "
          "VALUES (?, ?, ?, ?, ?, ?)",
          {p.id, amount, reason, note.empty() ? db::null() : db::Param(note.substr(0, 500)),
           by_user ? db::Param(by_user) : db::null(), key});
  const int64_t id = static_cast<int64_t>(tx.last_insert_id());
  Json::Value payload;
  payload["refundId"] = Json::Int64(id);
  jobs::enqueue(tx, kJobRefund, "job:" + key, payload, 0, 10);
  recompute(tx, p.id);
  return id;
}

void queue_mail(db::Db& tx, int64_t payment_id, const std::string& kind, int64_t refund_id = 0) {
  Json::Value payload;
  payload["paymentId"] = Json::Int64(payment_id);
  payload["kind"] = kind;
  if (refund_id) payload["refundId"] = Json::Int64(refund_id);
  jobs::enqueue(tx, kJobMail, "pmail:" + std::to_string(payment_id) + ":" + kind + (refund_id ? ":" + std::to_string(refund_id) : ""),
                payload, 0, 8);
}

/* The intent gives up its slot (payment expired or slot lost), and its Cal.com
 * reservation is dropped by a job. */
void release_hold(db::Db& tx, const Pay& p, const std::string& why) {
  // Only this attempt's hold: a late event of an earlier checkout must not
  // free the slot a retry of the same booking now holds.
  tx.exec("UPDATE booking_intents SET state = 'failed', active_start_utc = NULL, last_error = ? "
          "WHERE id = ? AND state = 'pending' AND n_attempts = ?",
          {why, p.intent_id, p.attempt});
  Json::Value payload;
  payload["paymentId"] = Json::Int64(p.id);
  jobs::enqueue(tx, kJobRelease, "release:" + std::to_string(p.id), payload, 0, 5);
}

/* ------------------------------------------------------------ applying events */

/* Paid: facts, invoice number (same transaction), finalize and receipt jobs. */
void mark_paid(const Config& cfg, db::Db& tx, Pay& p, int64_t amount, const std::string& pi,
               const std::string& email, const std::string& invoice) {
  if (!pi.empty() && p.payment_intent_id.empty())
    tx.exec("UPDATE payments SET payment_intent_id = ? WHERE id = ?", {pi, p.id});
  if (!email.empty() && p.customer_email.empty())
    tx.exec("UPDATE payments SET customer_email = ? WHERE id = ?", {email.substr(0, 254), p.id});
  if (!invoice.empty() && p.stripe_invoice_id.empty())
    tx.exec("UPDATE payments SET stripe_invoice_id = ? WHERE id = ?", {invoice, p.id});
  if (p.is_paid) return;
  if (amount <= 0) amount = p.amount_minor;
  if (amount != p.amount_minor)
    log::warn("payments: amount paid differs from the price", {{"payment", std::to_string(p.id)},
                                                                {"paid", std::to_string(amount)},
                                                                {"price", std::to_string(p.amount_minor)}});
  tx.exec("UPDATE payment_counters SET last_value = last_value + 1 WHERE name = 'invoice'");
  auto n = tx.query_one("SELECT last_value FROM payment_counters WHERE name = 'invoice'");
  if (!n) throw db::DbError(0, "payment_counters has no 'invoice' row");
  tx.exec("UPDATE payments SET is_paid = 1, amount_paid_minor = ?, paid_at = CURRENT_TIMESTAMP(3), invoice_number = ?, "
          "tax_rate_bps = ?, tax_name = ?, finalize_state = IF(finalize_state = 'waiting', 'queued', finalize_state) "
          "WHERE id = ?",
          {amount, n->i64("last_value"), int64_t(cfg.tax_rate_bps), cfg.tax_name, p.id});
  p.is_paid = true;
  p.amount_paid_minor = amount;
  Json::Value payload;
  payload["paymentId"] = Json::Int64(p.id);
  jobs::enqueue(tx, kJobFinalize, "finalize:" + std::to_string(p.id), payload, 0, 12);
  queue_mail(tx, p.id, "receipt");
}

int refund_rank(const std::string& s) {
  if (s == "queued") return 0;
  if (s == "pending" || s == "requires_action") return 1;
  if (s == "succeeded") return 2;
  if (s == "failed" || s == "canceled") return 3;
  return -1;
}

std::string refund_status_of(const std::string& stripe_status) {
  if (stripe_status == "requires_action") return "pending";
  if (refund_rank(stripe_status) >= 1) return stripe_status;
  return "pending";
}

/* A Stripe Refund object seen (event or our own call): the row moves forward
 * only. Returns true when it became succeeded now. */
bool record_refund_object(db::Db& tx, const Pay& p, const Json::Value& re, int64_t known_refund_id) {
  const std::string re_id = json::str(re, "id");
  if (re_id.empty()) return false;
  const std::string status = refund_status_of(json::str(re, "status"));
  std::optional<db::Row> row = tx.query_one(
      "SELECT id, status, stripe_refund_id FROM payment_refunds WHERE stripe_refund_id = ? FOR UPDATE", {re_id});
  int64_t meta_id = known_refund_id;
  if (!row && !meta_id && re["metadata"].isObject()) {
    std::string m = json::str(re["metadata"], "refund_id");
    if (!m.empty() && m.size() < 19 && std::all_of(m.begin(), m.end(), is_digit)) meta_id = std::stoll(m);
  }
  if (!row && meta_id)
    row = tx.query_one("SELECT id, status, stripe_refund_id FROM payment_refunds WHERE id = ? AND payment_id = ? FOR UPDATE",
                       {meta_id, p.id});
  if (!row) {
    // A refund made outside our system (the Dashboard): record it once.
    tx.exec("INSERT IGNORE INTO payment_refunds (payment_id, amount_minor, reason, note, idempotency_key, status, "
            "stripe_refund_id) VALUES (?, ?, 'admin', 'made in Stripe', ?, ?, ?)",
            {p.id, json::num(re, "amount"), "stripe:" + re_id, status, re_id});
    return status == "succeeded";
  }
  const std::string cur = row->str("status");
  if (row->is_null("stripe_refund_id"))
    tx.exec("UPDATE payment_refunds SET stripe_refund_id = ? WHERE id = ?", {re_id, row->i64("id")});
  if (refund_rank(status) <= refund_rank(cur) && !(cur == "succeeded" && (status == "failed" || status == "canceled")))
    return false;
  tx.exec("UPDATE payment_refunds SET status = ?, failure_reason = ? WHERE id = ?",
          {status, json::str(re, "failure_reason").empty() ? db::null() : db::Param(json::str(re, "failure_reason")),
           row->i64("id")});
  if (status == "succeeded") queue_mail(tx, p.id, "refund", row->i64("id"));
  if (status == "failed" || status == "canceled") {
    // Stripe gives the money back to the charge (its amount_refunded drops):
    // our copy of that figure may not count the failed refund any more, so
    // the remainder can be refunded again.
    tx.exec("UPDATE payments SET stripe_refunded_minor = LEAST(stripe_refunded_minor, "
            "(SELECT COALESCE(SUM(amount_minor), 0) FROM payment_refunds WHERE payment_id = ? "
            "AND status IN ('pending','succeeded'))) WHERE id = ?",
            {p.id, p.id});
    // Money the agent was promised did not move: someone has to act (the
    // payment API lists the refund as failed; an admin can refund again).
    log::error("payments: a refund failed at Stripe", {{"payment", std::to_string(p.id)},
                                                      {"refund", std::to_string(row->i64("id"))},
                                                      {"status", status},
                                                      {"reason", json::str(re, "failure_reason")}});
  }
  return status == "succeeded";
}

int64_t metadata_payment_id(const Json::Value& obj) {
  if (!obj["metadata"].isObject()) return 0;
  std::string m = json::str(obj["metadata"], "payment_id");
  if (m.empty() || m.size() > 18 || !std::all_of(m.begin(), m.end(), is_digit)) return 0;
  return std::stoll(m);
}

enum class Applied { applied, ignored, unmatched };

/* One event (or a synthesized one: reconcile) inside tx. */
Applied apply_event_tx(const Config& cfg, db::Db& tx, const Json::Value& ev) {
  const std::string type = json::str(ev, "type");
  const Json::Value& obj = ev["data"]["object"];
  if (!obj.isObject()) return Applied::ignored;
  const std::string oid = json::str(obj, "id");
  std::optional<Pay> p;
  const int64_t meta_pid = metadata_payment_id(obj);
  const bool ours = type.rfind("checkout.session.", 0) == 0 || type.rfind("payment_intent.", 0) == 0 ||
                    type.rfind("charge.", 0) == 0 || type.rfind("refund.", 0) == 0;
  if (!ours) return Applied::ignored;
  if (type.rfind("checkout.session.", 0) == 0) {
    if (!oid.empty()) p = load_pay(tx, "WHERE checkout_session_id = ?", {oid}, true);
  } else if (type.rfind("payment_intent.", 0) == 0) {
    if (!oid.empty()) p = load_pay(tx, "WHERE payment_intent_id = ?", {oid}, true);
  } else {
    const std::string pi = json::str(obj, "payment_intent");
    if (!pi.empty()) p = load_pay(tx, "WHERE payment_intent_id = ?", {pi}, true);
  }
  if (!p && meta_pid) p = load_by_id(tx, meta_pid, true);
  if (!p) return Applied::unmatched;

  if (type == "checkout.session.completed" || type == "checkout.session.async_payment_succeeded") {
    if (json::str(obj, "payment_status") == "paid") {
      std::string email = json::str(obj["customer_details"], "email");
      if (email.empty()) email = json::str(obj, "customer_email");
      mark_paid(cfg, tx, *p, json::num(obj, "amount_total"), json::str(obj, "payment_intent"), email,
                json::str(obj, "invoice"));
    }
  } else if (type == "checkout.session.expired") {
    if (!p->is_paid && !p->is_expired) {
      tx.exec("UPDATE payments SET is_expired = 1 WHERE id = ?", {p->id});
      release_hold(tx, *p, "checkout_expired");
    }
  } else if (type == "checkout.session.async_payment_failed") {
    // A delayed method (bank debit) failed after the session completed: no
    // money, so the slot goes back; a paid event can never be undone by it.
    if (!p->is_paid) {
      tx.exec("UPDATE payments SET last_failure = 'The delayed payment failed' WHERE id = ?", {p->id});
      release_hold(tx, *p, "async_payment_failed");
    }
  } else if (type == "payment_intent.succeeded") {
    mark_paid(cfg, tx, *p, json::num(obj, "amount_received"), oid, json::str(obj, "receipt_email"), "");
    if (!json::str(obj, "latest_charge").empty() && p->charge_id.empty())
      tx.exec("UPDATE payments SET charge_id = ? WHERE id = ?", {json::str(obj, "latest_charge"), p->id});
  } else if (type == "payment_intent.payment_failed") {
    if (p->payment_intent_id.empty()) tx.exec("UPDATE payments SET payment_intent_id = ? WHERE id = ?", {oid, p->id});
    std::string msg = json::str(obj["last_payment_error"], "message");
    if (msg.empty()) msg = "The payment was declined";
    // Only a fact: derive_status never lets it override paid.
    tx.exec("UPDATE payments SET last_failure = ? WHERE id = ?", {msg.substr(0, 500), p->id});
  } else if (type.rfind("charge.", 0) == 0 && type != "charge.refund.updated") {
    if (!oid.empty() && p->charge_id.empty()) tx.exec("UPDATE payments SET charge_id = ? WHERE id = ?", {oid, p->id});
    const std::string receipt = json::str(obj, "receipt_url");
    if (!receipt.empty() && (receipt.rfind("https://", 0) == 0 || receipt.rfind("http://", 0) == 0))
      tx.exec("UPDATE payments SET stripe_receipt_url = ? WHERE id = ?", {receipt.substr(0, 2000), p->id});
    if (type == "charge.refunded" || json::num(obj, "amount_refunded") > 0)
      tx.exec("UPDATE payments SET stripe_refunded_minor = GREATEST(stripe_refunded_minor, ?) WHERE id = ?",
              {json::num(obj, "amount_refunded"), p->id});
    if (obj["refunds"].isObject() && obj["refunds"]["data"].isArray())
      for (const auto& re : obj["refunds"]["data"]) record_refund_object(tx, *p, re, 0);
  } else if (type.rfind("refund.", 0) == 0 || type == "charge.refund.updated") {
    record_refund_object(tx, *p, obj, 0);
  } else {
    return Applied::ignored;
  }
  recompute(tx, p->id);
  return Applied::applied;
}

/* ------------------------------------------------------------ e-mail */

std::string domain_of(const std::string& addr) {
  auto at = addr.find('@');
  return at == std::string::npos ? "localhost" : addr.substr(at + 1);
}

Status send_mail(const Config& cfg, const std::string& to_name, const std::string& to_email, const std::string& subject,
                 const std::string& text, const std::string& html_body, const std::string& message_id) {
  const std::string from_addr = smtp::address_of(cfg.mail_from);
  if (!smtp::is_valid_address(to_email)) return make_error(400, "bad_recipient", "The agent has no valid e-mail address");
  const std::string alt = smtp::random_boundary("alt");
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::string m;
  m += "From: " + smtp::format_mailbox("Coaching Marketplace", from_addr) + "\r\n";
  m += "To: " + smtp::format_mailbox(to_name, to_email) + "\r\n";
  m += "Subject: " + smtp::encode_header(subject) + "\r\n";
  m += "Date: " + smtp::rfc5322_date(now) + "\r\n";
  m += "Message-ID: " + message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n";
  m += "--" + alt + "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(text) + "\r\n";
  m += "--" + alt + "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += smtp::quoted_printable(html_body) + "\r\n";
  m += "--" + alt + "--\r\n";
  smtp::Settings s;
  s.url = cfg.smtp_url;
  return smtp::send(s, from_addr, {to_email}, m);
}

Status perform_mail(const Config& cfg, db::Db& db, const Json::Value& payload, int64_t job_id) {
  const int64_t pid = json::num(payload, "paymentId");
  const std::string kind = json::str(payload, "kind");
  auto p = load_by_id(db, pid);
  if (!p) return ok_status();
  auto agent = db.query_one("SELECT name, email FROM users WHERE id = ?", {p->agent_user_id});
  if (!agent) return ok_status();
  Json::Value d;
  d["name"] = agent->str("name");
  d["description"] = p->description;
  d["when"] = when_in(p->start_s, p->time_zone);
  d["amount"] = format_money(p->amount_paid_minor ? p->amount_paid_minor : p->amount_minor, p->currency);
  d["receipt_url"] = p->invoice_number ? cfg.public_base_url + "/receipts/" + std::to_string(p->invoice_number) : "";
  d["invoice_number"] = p->invoice_number ? Json::Value(std::to_string(p->invoice_number)) : Json::Value();
  d["stripe_receipt_url"] = p->stripe_receipt_url.empty() ? Json::Value() : Json::Value(p->stripe_receipt_url);
  std::string subject, text;
  if (kind == "receipt") {
    subject = "Receipt " + std::to_string(p->invoice_number) + ": " + p->description;
    text = "Hello " + agent->str("name") + ",\n\nthank you for your payment of " + d["amount"].asString() + " for " +
           p->description + " on " + d["when"].asString() + ".\n\nInvoice number: " + std::to_string(p->invoice_number) +
           "\nYour receipt: " + d["receipt_url"].asString() + "\n";
    if (!p->stripe_receipt_url.empty()) text += "Card receipt from Stripe: " + p->stripe_receipt_url + "\n";
    d["is_receipt"] = true;
  } else if (kind == "refund") {
    auto r = db.query_one("SELECT amount_minor FROM payment_refunds WHERE id = ?", {json::num(payload, "refundId")});
    const std::string amt = format_money(r ? r->i64("amount_minor") : 0, p->currency);
    subject = "Refund of " + amt + ": " + p->description;
    text = "Hello " + agent->str("name") + ",\n\nwe have refunded " + amt + " of your payment for " + p->description +
           " on " + d["when"].asString() + ". It reaches your card within a few days.\n\nUpdated receipt: " +
           d["receipt_url"].asString() + "\n";
    d["is_refund"] = true;
    d["refund_amount"] = amt;
  } else if (kind == "slot_lost") {
    subject = "Your session could not be booked: full refund";
    text = "Hello " + agent->str("name") + ",\n\nyour payment of " + d["amount"].asString() + " for " + p->description +
           " on " + d["when"].asString() +
           " went through, but the time was taken by someone else before we could book it. We have refunded the full "
           "amount; it reaches your card within a few days. Please pick another time.\n";
    d["is_slot_lost"] = true;
  } else {
    return make_error(400, "unknown_mail", "Unknown payment e-mail kind '" + kind + "'");
  }
  d["subject"] = subject;
  std::string html_body;
  try {
    html_body = html::render("email_payment", d);
  } catch (const std::exception& e) {
    html_body = "<pre>" + html::text(text) + "</pre>";
  }
  return send_mail(cfg, agent->str("name"), agent->str("email"), subject, text, html_body,
                   "<payment-" + std::to_string(job_id) + "@" + domain_of(smtp::address_of(cfg.mail_from)) + ">");
}

/* ------------------------------------------------------------ jobs */

/* Paid, but no booking can be made for it: full refund, the agent told, the
 * hold released (once: the refund key and the finalize_state guard). */
void give_up_booking(db::Db& db, int64_t pid, const std::string& why) {
  db.transaction([&](db::Db& tx) {
    auto q = load_by_id(tx, pid, true);
    if (!q || !q->is_paid || q->finalize_state == "booked" || q->finalize_state == "slot_lost") return;
    tx.exec("UPDATE payments SET finalize_state = 'slot_lost', finalize_error = ? WHERE id = ?", {why.substr(0, 500), pid});
    queue_refund(tx, *q, q->amount_paid_minor, "slot_lost", "the slot was taken before the booking could be made", 0,
                 "refund:" + std::to_string(pid) + ":slot_lost");
    queue_mail(tx, pid, "slot_lost");
    release_hold(tx, *q, "slot_lost");
  });
}

Status perform_finalize(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t pid) {
  auto p = load_by_id(db, pid);
  if (!p || !p->is_paid || p->finalize_state == "booked" || p->finalize_state == "slot_lost") return ok_status();
  // A late payment of an earlier checkout of a booking another payment
  // already made: one booking, one charge; this one goes back in full.
  if (db.query_one("SELECT id FROM payments WHERE intent_id = ? AND id <> ? AND finalize_state = 'booked' LIMIT 1",
                   {p->intent_id, pid})) {
    log::warn("payments: a second payment for one booking; refunding it", {{"payment", std::to_string(pid)}});
    give_up_booking(db, pid, "duplicate_payment: this booking was already paid by another checkout");
    return ok_status();
  }
  bookings::Ctx c{cfg, db, cal};
  Json::Value responses(Json::objectValue);
  if (auto r = json::parse(p->responses_json); r && r->isObject()) responses = *r;
  auto r = bookings::finalize_paid_intent(c, p->intent_id, p->time_zone, responses, [&](db::Db& tx, const std::string& uid) {
    const std::string root = booking_hooks::chain_root(tx, uid);
    tx.exec("UPDATE payments SET booking_uid = ?, finalize_state = 'booked', finalize_error = NULL WHERE id = ?",
            {root, pid});
  });
  if (r) return ok_status();
  const Error& e = r.error();
  if (e.http_status >= 500) return e;   // Cal.com or the database: retry later, the hold stays
  log::warn("payments: paid but the slot is lost; refunding in full", {{"payment", std::to_string(pid)}, {"code", e.code}});
  give_up_booking(db, pid, e.code + ": " + e.message);
  return ok_status();
}

Status perform_refund(const Config& cfg, db::Db& db, int64_t refund_id) {
  auto r = db.query_one("SELECT r.id, r.payment_id, r.amount_minor, r.idempotency_key, r.status, r.reason, "
                        "p.payment_intent_id FROM payment_refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = ?",
                        {refund_id});
  if (!r || r->str("status") != "queued") return ok_status();
  if (r->str("payment_intent_id").empty())
    return make_error(503, "no_payment_intent", "The payment intent is not known yet; retrying");
  stripe::Client client(stripe::settings_from(cfg));
  stripe::RefundRequest rq;
  rq.payment_intent = r->str("payment_intent_id");
  rq.amount_minor = r->i64("amount_minor");
  rq.reason = "requested_by_customer";
  rq.metadata = {{"refund_id", std::to_string(refund_id)}, {"payment_id", r->str("payment_id")},
                 {"cause", r->str("reason")}};
  auto res = client.create_refund(rq, r->str("idempotency_key"));
  if (!res) {
    if (stripe::is_transient(res.error())) return res.error();
    log::error("payments: Stripe refused a refund", {{"refund", std::to_string(refund_id)}, {"code", res.error().code}});
    db.transaction([&](db::Db& tx) {
      tx.exec("UPDATE payment_refunds SET status = 'failed', failure_reason = ? WHERE id = ? AND status = 'queued'",
              {(res.error().code + ": " + res.error().message).substr(0, 500), refund_id});
      recompute(tx, r->i64("payment_id"));
    });
    return ok_status();
  }
  db.transaction([&](db::Db& tx) {
    auto p = load_by_id(tx, r->i64("payment_id"), true);
    if (!p) return;
    record_refund_object(tx, *p, *res, refund_id);
    recompute(tx, p->id);
  });
  return ok_status();
}

Status perform_release(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t pid) {
  auto p = load_by_id(db, pid);
  if (!p) return ok_status();
  auto i = db.query_one("SELECT reservation_uid, state, n_attempts FROM booking_intents WHERE id = ?", {p->intent_id});
  if (!i || i->str("reservation_uid").empty() || i->str("state") == "pending") return ok_status();
  if (i->i64("n_attempts") != p->attempt) return ok_status();  // a newer attempt owns the reservation
  auto r = cal.call("DELETE", "/v2/slots/reservations/" + url_encode(i->str("reservation_uid")), nullptr, "",
                    bookings::kReservationsApiVersion);
  if (!r && r.error().code != "cal_not_found" && r.error().http_status >= 500) return r.error();
  db.exec("UPDATE booking_intents SET reservation_uid = NULL WHERE id = ? AND state <> 'pending'", {p->intent_id});
  (void)cfg;
  return ok_status();
}

/* Asks Stripe about a payment still pending after its checkout expiry. */
Status perform_reconcile(const Config& cfg, db::Db& db, int64_t pid) {
  auto p = load_by_id(db, pid);
  if (!p || p->is_paid || p->is_expired) return ok_status();
  Json::Value ev;
  if (p->session_id.empty()) {
    if (p->expires_s > now_s()) return ok_status();
    ev["type"] = "checkout.session.expired";
    ev["data"]["object"]["id"] = "";
    ev["data"]["object"]["metadata"]["payment_id"] = std::to_string(pid);
  } else {
    stripe::Client client(stripe::settings_from(cfg));
    auto s = client.get_checkout_session(p->session_id);
    if (!s) return s.error();
    Json::Value obj = *s;
    const std::string st = json::str(obj, "status");
    if (st == "complete") {
      ev["type"] = "checkout.session.completed";
    } else if (st == "expired") {
      ev["type"] = "checkout.session.expired";
    } else if (p->expires_s <= now_s()) {
      auto x = client.expire_checkout_session(p->session_id, "expire:" + std::to_string(pid));
      if (!x) {
        if (stripe::is_transient(x.error())) return x.error();
        // Completed meanwhile? Look again next time.
        return make_error(503, "reconcile_retry", "Stripe did not expire the session: " + x.error().message);
      }
      obj = *x;
      ev["type"] = json::str(obj, "status") == "complete" ? "checkout.session.completed" : "checkout.session.expired";
    } else {
      return ok_status();
    }
    ev["data"]["object"] = obj;
  }
  db.transaction([&](db::Db& tx) { apply_event_tx(cfg, tx, ev); });
  return ok_status();
}

}  // namespace

/* ================================================================= money, policy */

int currency_decimals(const std::string& code_in) {
  const std::string code = upper(code_in);
  static const char* zero[] = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
                               "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
  static const char* three[] = {"BHD", "JOD", "KWD", "OMR", "TND"};
  for (const char* z : zero)
    if (code == z) return 0;
  for (const char* t : three)
    if (code == t) return 3;
  return 2;
}

std::string format_money(int64_t minor, const std::string& currency) {
  const int dec = currency_decimals(currency);
  const bool neg = minor < 0;
  uint64_t v = neg ? uint64_t(0) - uint64_t(minor) : uint64_t(minor);
  std::string s;
  if (dec == 0) {
    s = std::to_string(v);
  } else {
    uint64_t div = dec == 3 ? 1000 : 100;
    std::string frac = std::to_string(v % div);
    while (frac.size() < static_cast<size_t>(dec)) frac.insert(0, "0");
    s = std::to_string(v / div) + "." + frac;
  }
  return (neg ? "-" : "") + s + " " + upper(currency);
}

TaxSplit split_tax(int64_t gross_minor, int rate_bps) {
  TaxSplit t;
  if (rate_bps <= 0 || gross_minor <= 0) {
    t.net_minor = gross_minor;
    return t;
  }
  const int64_t den = 10000 + rate_bps;
  t.tax_minor = (gross_minor * rate_bps * 2 + den) / (2 * den);
  t.net_minor = gross_minor - t.tax_minor;
  return t;
}

std::string derive_status(bool is_paid, bool is_expired, bool has_failure, int64_t paid_minor, int64_t refunded_minor) {
  if (is_paid) {
    if (refunded_minor > 0 && refunded_minor >= paid_minor) return "refunded";
    if (refunded_minor > 0) return "partially_refunded";
    return "paid";
  }
  if (is_expired) return "expired";
  if (has_failure) return "failed";
  return "pending";
}

/* ================================================================= checkout */

std::optional<CheckoutStart> open_checkout_for_intent(db::Db& db, int64_t intent_id) {
  auto p = load_pay(db, "WHERE intent_id = ? ORDER BY attempt DESC", {intent_id});
  if (!p || p->session_id.empty() || p->is_expired) return std::nullopt;
  CheckoutStart s;
  s.payment_id = p->id;
  s.checkout_url = p->checkout_url;
  s.session_id = p->session_id;
  s.expires_at = p->expires_s;
  s.status = p->status;
  return s;
}

Result<CheckoutStart> start_checkout(const Config& cfg, db::Db& db, const CheckoutInput& in) {
  if (!stripe::configured(cfg))
    return make_error(503, "payments_unavailable", "Payments are not configured on this server; priced sessions cannot be booked");
  if (!in.agent) return make_error(500, "internal", "start_checkout without an agent");
  const std::string currency = upper(in.currency);
  const std::string title = in.title.empty() ? std::string("Coaching session") : in.title;
  // "Strategy session (60 min) with Maria Lopez"; the length only when the title lacks it.
  const std::string description = title + (title.find(" min") == std::string::npos
                                               ? " (" + std::to_string(in.length_min) + " min)" : std::string()) +
                                  " with " + in.coach_name;
  const int64_t expires_at = now_s() + kCheckoutTtlS;
  int64_t pid = 0;
  std::optional<Pay> existing;
  db.transaction([&](db::Db& tx) {
    existing = load_pay(tx, "WHERE intent_id = ? AND attempt = ?", {in.intent_id, in.attempt}, true);
    if (existing) {
      pid = existing->id;
      return;
    }
    tx.exec("INSERT INTO payments (intent_id, attempt, agent_user_id, coach_user_id, cal_event_type_id, start_utc, end_utc, "
            "time_zone, responses_json, description, amount_minor, currency, checkout_expires_at, customer_email) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), ?)",
            {in.intent_id, in.attempt, in.agent->id, in.coach_user_id, in.cal_event_type_id, in.start_db, in.end_db,
             in.time_zone, json::write(in.responses), description.substr(0, 255), in.price_minor, currency, expires_at,
             in.agent->email});
    pid = static_cast<int64_t>(tx.last_insert_id());
    // The slot stays ours while the agent pays.
    tx.exec("UPDATE booking_intents SET expires_at = FROM_UNIXTIME(?) WHERE id = ?",
            {expires_at + kHoldSlackS, in.intent_id});
  });
  if (existing && !existing->session_id.empty() && !existing->is_expired) {
    CheckoutStart s;
    s.payment_id = pid;
    s.checkout_url = existing->checkout_url;
    s.session_id = existing->session_id;
    s.expires_at = existing->expires_s;
    s.status = existing->status;
    return s;
  }
  const int64_t exp = existing ? existing->expires_s : expires_at;
  stripe::CheckoutRequest rq;
  rq.unit_amount_minor = existing ? existing->amount_minor : in.price_minor;
  rq.currency = currency;
  rq.product_name = existing ? existing->description : description.substr(0, 255);
  rq.success_url = cfg.public_base_url + "/book/paid?session_id={CHECKOUT_SESSION_ID}";
  rq.cancel_url = cfg.public_base_url + "/book/paid?payment=" + std::to_string(pid);
  rq.customer_email = in.agent->email;
  rq.client_reference_id = "intent_" + std::to_string(in.intent_id);
  rq.metadata = {{"booking_intent_id", std::to_string(in.intent_id)}, {"payment_id", std::to_string(pid)}};
  rq.expires_at = exp;
  rq.invoice_creation = true;
  stripe::Client client(stripe::settings_from(cfg));
  auto r = client.create_checkout_session(rq, "checkout:" + std::to_string(in.intent_id) + ":" + std::to_string(in.attempt));
  if (!r) {
    db.exec("UPDATE payments SET is_expired = 1, status = 'expired', last_failure = ? WHERE id = ? AND is_paid = 0",
            {("checkout could not be created: " + r.error().code).substr(0, 500), pid});
    if (r.error().code == "stripe_not_configured") return r.error();
    if (stripe::is_transient(r.error()))
      return make_error(502, "payments_unavailable", "The payment provider is not answering right now; nothing was charged, try again");
    return make_error(502, "payments_rejected", "The payment provider refused the checkout: " + r.error().message);
  }
  const std::string sid = json::str(*r, "id"), url = json::str(*r, "url");
  if (sid.empty() || (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0))
    return make_error(502, "payments_unavailable", "The payment provider answered without a checkout page");
  db.exec("UPDATE payments SET checkout_session_id = ?, checkout_url = ? WHERE id = ?", {sid, url.substr(0, 2000), pid});
  log::info("payments: checkout created", {{"payment", std::to_string(pid)}, {"session", sid}});
  CheckoutStart s;
  s.payment_id = pid;
  s.checkout_url = url;
  s.session_id = sid;
  s.expires_at = exp;
  return s;
}

/* ================================================================= webhooks */

namespace {

void note_event_failure(db::Db& db, int64_t id, const std::string& why, bool unmatched) {
  try {
    auto r = db.query_one("SELECT attempts FROM stripe_events WHERE id = ?", {id});
    const int64_t attempts = (r ? r->i64("attempts") : 0) + 1;
    const bool give_up = attempts >= kMaxEventAttempts;
    const int64_t delay = std::min<int64_t>(600, int64_t(1) << std::min<int64_t>(attempts, 10));
    db.exec("UPDATE stripe_events SET status = ?, attempts = ?, last_error = ?, "
            "next_attempt_at = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ? AND status IN ('received','failed')",
            {give_up ? std::string(unmatched ? "ignored" : "dead") : std::string("failed"), attempts, why.substr(0, 1000),
             delay, id});
  } catch (const db::DbError& e) {
    log::error("payments: could not note an event failure", {{"what", e.what()}});
  }
}

}  // namespace

Status apply_stored_event(const Config& cfg, db::Db& db, int64_t stored_id) {
  std::string outcome;
  try {
    db.transaction([&](db::Db& tx) {
      outcome.clear();
      auto r = tx.query_one("SELECT status, payload FROM stripe_events WHERE id = ? FOR UPDATE", {stored_id});
      if (!r) return;
      const std::string st = r->str("status");
      if (st != "received" && st != "failed") {
        outcome = "done";
        return;
      }
      auto ev = json::parse(r->str("payload"));
      if (!ev) {
        tx.exec("UPDATE stripe_events SET status = 'dead', last_error = 'unparsable' WHERE id = ?", {stored_id});
        outcome = "dead";
        return;
      }
      Applied a = apply_event_tx(cfg, tx, *ev);
      if (a == Applied::unmatched) {
        outcome = "unmatched";
        return;   // nothing changed; noted below (outside this transaction)
      }
      tx.exec("UPDATE stripe_events SET status = ?, applied_at = CURRENT_TIMESTAMP(3), attempts = attempts + 1, "
              "last_error = NULL WHERE id = ?",
              {std::string(a == Applied::applied ? "applied" : "ignored"), stored_id});
      outcome = a == Applied::applied ? "applied" : "ignored";
    });
  } catch (const std::exception& e) {
    note_event_failure(db, stored_id, std::string("apply failed: ") + e.what(), false);
    return make_error(500, "apply_failed", "Applying the event failed; the worker retries it");
  }
  if (outcome == "unmatched") {
    // Its payment may not know this object yet (events arrive in any order).
    note_event_failure(db, stored_id, "no payment matches this event yet", true);
    return make_error(409, "unmatched", "No payment matches this event yet; retried later");
  }
  return ok_status();
}

ReceiveOutcome receive_webhook(const Config& cfg, db::Db& db, const std::string& body, const std::string& sig_header,
                               int64_t now) {
  ReceiveOutcome o;
  auto v = stripe_sig::verify(sig_header, body, cfg.stripe_webhook_secret, now);
  if (v != stripe_sig::Verdict::ok) {
    o.http_status = 400;
    o.code = "invalid_signature";
    o.message = stripe_sig::describe(v);
    log::warn("stripe webhook refused", {{"why", o.message}});
    return o;
  }
  auto ev = json::parse(body);
  if (!ev || !ev->isObject() || json::str(*ev, "id").empty() || json::str(*ev, "type").empty() ||
      !(*ev)["data"]["object"].isObject()) {
    o.http_status = 400;
    o.code = "invalid_event";
    o.message = "Expected a Stripe event object {id, type, data.object}";
    return o;
  }
  const std::string event_id = json::str(*ev, "id").substr(0, 255);
  // Stored before the 2xx; the worker picks it up only if we do not apply it now.
  uint64_t n = db.exec("INSERT IGNORE INTO stripe_events (event_id, type, payload, event_created, next_attempt_at) "
                       "VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL 10 SECOND)",
                       {event_id, json::str(*ev, "type").substr(0, 100), body, json::num(*ev, "created")});
  if (n == 0) {
    o.duplicate = true;
    o.applied = "duplicate";
    return o;
  }
  auto id = db.query_one("SELECT id FROM stripe_events WHERE event_id = ?", {event_id});
  if (!id) return o;
  auto st = apply_stored_event(cfg, db, id->i64("id"));
  o.applied = st ? "applied" : "deferred";
  return o;
}

int process_due_events(const Config& cfg, db::Db& db, int max_events) {
  auto rows = db.query("SELECT id FROM stripe_events WHERE status IN ('received','failed') "
                       "AND next_attempt_at <= CURRENT_TIMESTAMP(3) ORDER BY id LIMIT " + std::to_string(max_events));
  for (const auto& r : rows) apply_stored_event(cfg, db, r.i64("id"));
  return static_cast<int>(rows.size());
}

/* ================================================================= jobs */

const std::vector<std::string>& job_kinds() {
  static const std::vector<std::string> k = {kJobFinalize, kJobRefund, kJobReconcile, kJobMail, kJobRelease};
  return k;
}

Status perform_job(const Config& cfg, db::Db& db, calcom::Client& cal, const jobs::Job& job) {
  if (job.kind == kJobFinalize) return perform_finalize(cfg, db, cal, json::num(job.payload, "paymentId"));
  if (job.kind == kJobRefund) return perform_refund(cfg, db, json::num(job.payload, "refundId"));
  if (job.kind == kJobReconcile) return perform_reconcile(cfg, db, json::num(job.payload, "paymentId"));
  if (job.kind == kJobMail) return perform_mail(cfg, db, job.payload, job.id);
  if (job.kind == kJobRelease) return perform_release(cfg, db, cal, json::num(job.payload, "paymentId"));
  return make_error(500, "unknown_job", "Not a payments job: " + job.kind);
}

namespace {

/* Bookings cancelled (or declined) on Cal.com's side, not through our API
 * (booking_meta.cancelled_by empty or 'calcom': the coach in Cal.com), in the
 * last two days: their paid payment is refunded in full, once (the same key as
 * a cancellation through our API). At most once a minute per process. */
int refund_external_cancellations(const Config& cfg, db::Db& db) {
  static int64_t last_bucket = -1;
  const int64_t bucket = now_s() / 60;
  if (bucket == last_bucket) return 0;
  last_bucket = bucket;
  int n = 0;
  for (const auto& r : db.query("SELECT b.cal_uid FROM CalBooking b LEFT JOIN booking_meta m ON m.cal_uid = b.cal_uid "
                                "WHERE b.status IN ('cancelled','rejected') AND b.updated_at > CURRENT_TIMESTAMP - INTERVAL 2 DAY "
                                // settled for 30 s: a cancellation through our API commits its own (policy) refund first
                                "AND b.updated_at < CURRENT_TIMESTAMP(3) - INTERVAL 30 SECOND "
                                "AND (b.rescheduled_to_uid IS NULL OR b.rescheduled_to_uid = '') "
                                "AND m.rescheduled_to_uid IS NULL AND (m.cancelled_by IS NULL OR m.cancelled_by = 'calcom') "
                                "LIMIT 200")) {
    const std::string uid = r.str("cal_uid");
    db.transaction([&](db::Db& tx) {
      const std::string root = booking_hooks::chain_root(tx, uid);
      if (booking_hooks::chain_head(tx, root) != uid) return;
      auto p = load_pay(tx, "WHERE booking_uid = ? AND is_paid = 1 AND finalize_state = 'booked'", {root}, true);
      if (!p) return;
      const std::string key = "refund:" + std::to_string(p->id) + ":cancel";
      if (tx.query_one("SELECT id FROM payment_refunds WHERE idempotency_key = ?", {key})) return;
      if (queue_refund(tx, *p, p->amount_paid_minor, "coach_cancel", "cancelled in Cal.com", 0, key)) ++n;
    });
  }
  // Paid, but the booking job gave up (Cal.com down for hours): nobody stays
  // charged without a booking.
  for (const auto& r : db.query("SELECT p.id FROM payments p JOIN jobs j ON j.idempotency_key = CONCAT('finalize:', p.id) "
                                "WHERE p.is_paid = 1 AND p.finalize_state = 'queued' AND j.status = 'dead' LIMIT 50")) {
    log::error("payments: booking a paid intent failed for good; refunding", {{"payment", r.str("id")}});
    give_up_booking(db, r.i64("id"), "the booking job gave up");
    ++n;
  }
  (void)cfg;
  return n;
}

}  // namespace

int queue_reconciles(const Config& cfg, db::Db& db) {
  int n = refund_external_cancellations(cfg, db);
  // Asked once a minute in the first hour after the checkout's expiry, then
  // hourly (delayed methods settle in days), and not after 15 days; newest
  // first, so old unsettled ones never crowd out fresh ones.
  for (const auto& r : db.query("SELECT id, IF(checkout_expires_at > CURRENT_TIMESTAMP - INTERVAL 1 HOUR, "
                                "FLOOR(UNIX_TIMESTAMP() / 60), CONCAT('h', FLOOR(UNIX_TIMESTAMP() / 3600))) AS bucket "
                                "FROM payments WHERE status IN ('pending','failed') "
                                "AND checkout_expires_at < CURRENT_TIMESTAMP - INTERVAL 60 SECOND "
                                "AND checkout_expires_at > CURRENT_TIMESTAMP - INTERVAL 15 DAY "
                                "ORDER BY checkout_expires_at DESC LIMIT 200")) {
    Json::Value p;
    p["paymentId"] = Json::Int64(r.i64("id"));
    if (jobs::enqueue(db, kJobReconcile, "preconcile:" + r.str("id") + ":" + r.str("bucket"), p, 0, 3)) ++n;
  }
  return n;
}

/* ================================================================= bookings */

int64_t on_booking_cancelled(const Config& cfg, db::Db& tx, const std::string& uid, const std::string& who,
                             int64_t start_s, int64_t now) {
  const std::string root = booking_hooks::chain_root(tx, uid);
  auto p = load_pay(tx, "WHERE booking_uid = ? AND is_paid = 1", {root}, true);
  if (!p) return 0;
  const bool full = who == "coach" || who == "admin";
  auto policy = policy_for(cfg, tx, p->cal_event_type_id, nullptr);
  auto q = quote_refund(policy, p->amount_paid_minor, p->amount_paid_minor - remainder_of(tx, *p), start_s - now, full);
  if (q.amount_minor <= 0) return 0;
  int64_t rid = queue_refund(tx, *p, q.amount_minor, full ? "coach_cancel" : "policy", q.rule, 0,
                             "refund:" + std::to_string(p->id) + ":cancel");
  if (!rid) return 0;
  auto r = tx.query_one("SELECT amount_minor FROM payment_refunds WHERE id = ?", {rid});
  return r ? r->i64("amount_minor") : 0;
}

std::string refund_policy_text(const Config& cfg, db::Db& db, int64_t cal_event_type_id) {
  std::string text;
  policy_for(cfg, db, cal_event_type_id, &text);
  return text;
}

std::optional<CancelQuote> quote_cancellation(const Config& cfg, db::Db& db, const std::string& uid,
                                              const std::string& who, int64_t start_s, int64_t now) {
  const std::string root = booking_hooks::chain_root(db, uid);
  auto p = load_pay(db, "WHERE booking_uid = ? AND is_paid = 1", {root});
  if (!p) return std::nullopt;
  CancelQuote c;
  c.payment_id = p->id;
  c.paid_minor = p->amount_paid_minor;
  c.currency = p->currency;
  const int64_t remainder = remainder_of(db, *p);
  c.refunded_minor = p->amount_paid_minor - remainder;
  auto policy = policy_for(cfg, db, p->cal_event_type_id, &c.policy_text);
  auto q = quote_refund(policy, p->amount_paid_minor, c.refunded_minor, start_s - now, who == "coach" || who == "admin");
  c.refund_minor = q.amount_minor;
  c.percent = q.percent;
  c.rule = q.rule;
  c.refund_text = format_money(c.refund_minor, c.currency);
  c.paid_text = format_money(c.paid_minor, c.currency);
  return c;
}

/* ================================================================= views */

Json::Value payment_json(const Config& cfg, db::Db& db, int64_t payment_id) {
  auto p = load_by_id(db, payment_id);
  if (!p) return Json::Value();
  auto s = [](const std::string& v) { return v.empty() ? Json::Value() : Json::Value(v); };
  Json::Value j;
  j["id"] = Json::Int64(p->id);
  j["status"] = p->status;
  j["description"] = p->description;
  j["amountMinor"] = Json::Int64(p->amount_minor);
  j["amountPaidMinor"] = Json::Int64(p->amount_paid_minor);
  j["amountRefundedMinor"] = Json::Int64(p->refunded_minor);
  j["currency"] = p->currency;
  j["amountText"] = format_money(p->amount_minor, p->currency);
  j["invoiceNumber"] = p->invoice_number ? Json::Value(Json::Int64(p->invoice_number)) : Json::Value();
  j["receiptUrl"] = p->invoice_number ? Json::Value(cfg.public_base_url + "/receipts/" + std::to_string(p->invoice_number))
                                      : Json::Value();
  j["stripeReceiptUrl"] = s(p->stripe_receipt_url);
  j["checkoutSessionId"] = s(p->session_id);
  j["checkoutUrl"] = p->is_paid || p->is_expired ? Json::Value() : s(p->checkout_url);
  j["checkoutExpiresAt"] = iso_of(p->expires_s);
  j["paymentIntentId"] = s(p->payment_intent_id);
  j["bookingUid"] = p->booking_uid.empty() ? Json::Value() : Json::Value(booking_hooks::chain_head(db, p->booking_uid));
  j["bookingState"] = p->finalize_state;
  j["lastFailure"] = s(p->last_failure);
  j["startUtc"] = iso_of(p->start_s);
  Json::Value refunds(Json::arrayValue);
  for (const auto& r : db.query("SELECT id, amount_minor, reason, status, stripe_refund_id, "
                                "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS at FROM payment_refunds "
                                "WHERE payment_id = ? ORDER BY id",
                                {p->id})) {
    Json::Value x;
    x["id"] = Json::Int64(r.i64("id"));
    x["amountMinor"] = Json::Int64(r.i64("amount_minor"));
    x["reason"] = r.str("reason");
    x["status"] = r.str("status");
    x["stripeRefundId"] = s(r.str("stripe_refund_id"));
    x["createdAt"] = r.str("at");
    refunds.append(x);
  }
  j["refunds"] = refunds;
  return j;
}

Status may_view(db::Db& db, const session::User& viewer, int64_t payment_id) {
  auto p = load_by_id(db, payment_id);
  if (!p || !(viewer.is_admin() || viewer.id == p->agent_user_id || viewer.id == p->coach_user_id))
    return make_error(404, "not_found", "No such payment");
  return ok_status();
}

Result<Json::Value> admin_refund(const Config& cfg, db::Db& db, const session::User& admin, int64_t payment_id,
                                 int64_t amount_minor, const std::string& note, const std::string& key) {
  if (!admin.is_admin()) return make_error(403, "forbidden", "Only an admin can issue a manual refund");
  if (amount_minor <= 0) return make_error(400, "invalid_amount", "'amountMinor' must be a positive whole number of minor units");
  std::optional<Error> failure;
  int64_t rid = 0;
  db.transaction([&](db::Db& tx) {
    failure.reset();
    auto p = load_by_id(tx, payment_id, true);
    if (!p) {
      failure = make_error(404, "not_found", "No such payment");
      return;
    }
    if (!p->is_paid) {
      failure = make_error(409, "not_refundable", "This payment was never completed; there is nothing to refund");
      return;
    }
    const std::string k = "refund:" + std::to_string(payment_id) + ":admin:" + key;
    if (auto prior = tx.query_one("SELECT id, amount_minor FROM payment_refunds WHERE idempotency_key = ?", {k})) {
      if (prior->i64("amount_minor") != amount_minor) {
        failure = make_error(409, "idempotency_conflict", "This idempotency key was used for another amount");
        return;
      }
      rid = prior->i64("id");
      return;
    }
    const int64_t remainder = remainder_of(tx, *p);
    if (remainder <= 0) {
      failure = make_error(409, "not_refundable", "This payment is already refunded in full");
      return;
    }
    if (amount_minor > remainder) {
      failure = make_error(400, "invalid_amount", "At most " + format_money(remainder, p->currency) + " can still be refunded");
      return;
    }
    rid = queue_refund(tx, *p, amount_minor, "admin", note, admin.id, k);
  });
  if (failure) return *failure;
  Json::Value j = payment_json(cfg, db, payment_id);
  j["refundId"] = Json::Int64(rid);
  return j;
}

Result<Json::Value> receipt_data(const Config& cfg, db::Db& db, const session::User& viewer, int64_t invoice_number) {
  auto p = load_pay(db, "WHERE invoice_number = ?", {invoice_number});
  if (!p || !(viewer.is_admin() || viewer.id == p->agent_user_id || viewer.id == p->coach_user_id))
    return make_error(404, "not_found", "No such receipt");
  auto agent = db.query_one("SELECT name, email FROM users WHERE id = ?", {p->agent_user_id});
  auto coach = db.query_one("SELECT name FROM users WHERE id = ?", {p->coach_user_id});
  Json::Value d;
  d["invoice_number"] = std::to_string(p->invoice_number);
  d["issuer"] = cfg.invoice_issuer;
  d["issued"] = day_of(p->paid_at_s);
  d["bill_to_name"] = agent ? agent->str("name") : "";
  d["bill_to_email"] = p->customer_email.empty() ? (agent ? agent->str("email") : "") : p->customer_email;
  d["coach_name"] = coach ? coach->str("name") : "";
  d["status"] = p->status;
  d["status_label"] = p->status == "partially_refunded" ? "Partially refunded"
                      : p->status == "refunded"         ? "Refunded"
                                                        : "Paid";
  Json::Value line;
  line["description"] = p->description;
  line["when"] = when_in(p->start_s, p->time_zone);
  line["quantity"] = 1;
  line["unit_price"] = format_money(p->amount_paid_minor, p->currency);
  line["amount"] = format_money(p->amount_paid_minor, p->currency);
  d["lines"].append(line);
  if (p->tax_rate_bps > 0) {
    auto t = split_tax(p->amount_paid_minor, static_cast<int>(p->tax_rate_bps));
    d["tax"]["name"] = p->tax_name.empty() ? "Tax" : p->tax_name;
    d["tax"]["rate"] = std::to_string(p->tax_rate_bps / 100) + "." + (p->tax_rate_bps % 100 < 10 ? "0" : "") +
                       std::to_string(p->tax_rate_bps % 100) + " %";
    d["tax"]["net"] = format_money(t.net_minor, p->currency);
    d["tax"]["amount"] = format_money(t.tax_minor, p->currency);
  }
  d["total"] = format_money(p->amount_paid_minor, p->currency);
  d["total_minor"] = Json::Int64(p->amount_paid_minor);
  d["currency"] = p->currency;
  Json::Value refunds(Json::arrayValue);
  for (const auto& r : db.query("SELECT amount_minor, status, reason, DATE_FORMAT(created_at, '%d %b %Y') AS day "
                                "FROM payment_refunds WHERE payment_id = ? AND status IN ('pending','succeeded') ORDER BY id",
                                {p->id})) {
    Json::Value x;
    x["amount"] = format_money(r.i64("amount_minor"), p->currency);
    x["status"] = r.str("status");
    x["day"] = r.str("day");
    x["reason"] = r.str("reason") == "policy"         ? "Cancellation (refund policy)"
                  : r.str("reason") == "coach_cancel" ? "Cancelled by the coach"
                  : r.str("reason") == "slot_lost"    ? "Slot no longer available"
                                                      : "Refund";
    refunds.append(x);
  }
  d["refunds"] = refunds;
  d["has_refunds"] = !refunds.empty();
  d["refunded"] = format_money(p->refunded_minor, p->currency);
  d["refunded_minor"] = Json::Int64(p->refunded_minor);
  d["net_paid"] = format_money(p->amount_paid_minor - p->refunded_minor, p->currency);
  d["stripe_receipt_url"] = p->stripe_receipt_url.empty() ? Json::Value() : Json::Value(p->stripe_receipt_url);
  d["booking_href"] = p->booking_uid.empty() ? Json::Value()
                                             : Json::Value("/my/sessions/" + booking_hooks::chain_head(db, p->booking_uid));
  return d;
}

Result<Json::Value> paid_page_data(const Config& cfg, db::Db& db, const session::User& viewer,
                                   const std::string& session_id, int64_t payment_id) {
  std::optional<Pay> p;
  if (!session_id.empty()) p = load_pay(db, "WHERE checkout_session_id = ?", {session_id});
  else if (payment_id) p = load_by_id(db, payment_id);
  if (!p || !(viewer.is_admin() || viewer.id == p->agent_user_id)) return make_error(404, "not_found", "No such payment");
  Json::Value d;
  d["payment"] = payment_json(cfg, db, p->id);
  std::string state;
  if (p->finalize_state == "booked") state = "booked";
  else if (p->finalize_state == "slot_lost") state = "slot_lost";
  else if (p->is_paid) state = "confirming";
  else if (p->is_expired) state = "expired";
  else if (!p->last_failure.empty()) state = "failed";
  else state = "pending";
  d["state"] = state;
  d["is_" + state] = true;
  d["description"] = p->description;
  d["when"] = when_in(p->start_s, p->time_zone);
  d["amount"] = format_money(p->amount_minor, p->currency);
  d["refunded"] = format_money(p->refunded_minor, p->currency);
  d["booking_uid"] = p->booking_uid.empty() ? Json::Value() : Json::Value(booking_hooks::chain_head(db, p->booking_uid));
  d["checkout_url"] = (!p->is_paid && !p->is_expired && !p->checkout_url.empty()) ? Json::Value(p->checkout_url) : Json::Value();
  d["receipt_href"] = p->invoice_number ? Json::Value("/receipts/" + std::to_string(p->invoice_number)) : Json::Value();
  d["rebook_href"] = "/book?coachId=" + std::to_string(p->coach_user_id) + "&eventTypeId=" + std::to_string(p->cal_event_type_id);
  d["last_failure"] = p->last_failure.empty() ? Json::Value() : Json::Value(p->last_failure);
  return d;
}

}  // namespace coach::payments
