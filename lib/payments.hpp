/* payments.hpp: Stripe payments for priced bookings (layer 4, domain).
 *
 * Design (issue 7):
 *  - Free session types (price_minor == 0) book as before. A priced booking
 *    (bookings::create_booking) validates as before, takes our slot guard
 *    (booking_intents; its expires_at is stretched to the checkout expiry, so
 *    the slot stays held while the agent pays), places the Cal.com slot
 *    reservation and calls start_checkout(): a payments row 'pending' and a
 *    Stripe Checkout Session (form-encoded; Idempotency-Key
 *    "checkout:<intent>:<attempt>"; price_data from the session type's price
 *    and currency; success_url /book/paid?session_id={CHECKOUT_SESSION_ID};
 *    metadata booking_intent_id + payment_id on the session and the payment
 *    intent; expires_at now + 31 min; invoice_creation). The API answers 202
 *    {status:"payment_required", checkoutUrl, paymentId}.
 *  - The booking is made only when Stripe says paid. POST /api/stripe/webhook
 *    verifies Stripe-Signature (stripe_sig), stores the event (unique event
 *    id) and applies it in one transaction (retried by the worker on
 *    failure). Facts are stored, the status is derived (derive_status), so
 *    events converge in any order. Paid -> invoice number allocated in that
 *    transaction, job payment_finalize (bookings::finalize_paid_intent: the
 *    Cal.com booking, recorded like a free one) and the receipt e-mail. If the
 *    slot was lost (Cal.com refuses, or the hold expired and someone took
 *    it), a full refund and an e-mail to the agent are queued instead.
 *    checkout.session.expired -> expired, hold released, reservation dropped.
 *    payment_intent.payment_failed -> failed (never over paid).
 *  - A reconcile job asks Stripe about payments still pending past their
 *    checkout expiry and converges them (paid / expired).
 *  - Refunds: policy per session type (EventType.refund_policy) or the
 *    platform's (config refund-policy), default "24h:100,2h:50"; a coach's or
 *    an admin's cancellation refunds in full; an admin can refund any amount
 *    up to the remainder. Computed and inserted under the payment's row lock
 *    (the sum can never exceed the amount paid), one row per cause (unique
 *    idempotency key), sent to Stripe by job stripe_refund with that key,
 *    recorded once (stripe_refund_id unique).
 *  - Receipts: invoice numbers from payment_counters, allocated in the paying
 *    transaction; /receipts/{number} for the agent, the coach and admins.
 *  - Money is integer minor units everywhere; zero-decimal currencies (JPY,
 *    KRW, ...) are formatted without decimals.
 */
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "jobs.hpp"
#include "refund_policy.hpp"
#include "result.hpp"
#include "session.hpp"

namespace coach::payments {

/* ------------------------------------------------------------ money (pure) */

/* Digits after the decimal point of a currency's minor unit: 0 for JPY, KRW
 * and the other zero-decimal currencies, 3 for BHD/JOD/KWD/OMR/TND, else 2. */
int currency_decimals(const std::string& code);

/* "99.00 USD", "5000 JPY", "-1.50 EUR" (code upper-cased). */
std::string format_money(int64_t minor, const std::string& currency);

/* Refund policies (parse_policy, describe_policy, quote_refund): refund_policy.hpp. */

/* Tax included in a gross amount at rate_bps basis points:
 * tax = round_half_up(gross * rate / (10000 + rate)), net = gross - tax. */
struct TaxSplit {
  int64_t net_minor = 0, tax_minor = 0;
};
TaxSplit split_tax(int64_t gross_minor, int rate_bps);

/* pending | paid | failed | expired | partially_refunded | refunded from the
 * stored facts (paid wins over failed/expired; refunds only count once paid). */
std::string derive_status(bool is_paid, bool is_expired, bool has_failure, int64_t paid_minor, int64_t refunded_minor);

/* ------------------------------------------------------------ checkout */

struct CheckoutInput {
  int64_t intent_id = 0, attempt = 1;
  const session::User* agent = nullptr;
  int64_t coach_user_id = 0;
  std::string coach_name;
  int64_t cal_event_type_id = 0;
  std::string title;
  int length_min = 0;
  int64_t price_minor = 0;
  std::string currency;
  std::string start_db, end_db;    // "YYYY-MM-DD HH:MM:SS" UTC
  std::string time_zone;
  Json::Value responses{Json::objectValue};
};

struct CheckoutStart {
  int64_t payment_id = 0;
  std::string checkout_url, session_id, status = "pending";
  int64_t expires_at = 0;          // unix s
};

/* Creates (or finds, for the same intent attempt) the payment row and its
 * Checkout Session, and stretches the intent's hold to the checkout expiry.
 * Errors: 503 stripe_not_configured, 502 stripe_unavailable (nothing
 * charged; the payment row is marked expired), 400 stripe_* (a request
 * Stripe refused). */
Result<CheckoutStart> start_checkout(const Config& cfg, db::Db& db, const CheckoutInput& in);

/* The open checkout of an earlier request with the same intent (a retried
 * create with the same idempotency key), if any. */
std::optional<CheckoutStart> open_checkout_for_intent(db::Db& db, int64_t intent_id);

/* ------------------------------------------------------------ webhooks */

struct ReceiveOutcome {
  int http_status = 200;
  std::string code, message;
  bool duplicate = false;
  std::string applied;             // applied | ignored | failed | duplicate
};

/* POST /api/stripe/webhook: verify (400 invalid_signature, nothing stored),
 * parse (400 invalid_event), store (duplicate event id: 200, no effect),
 * apply (a failure is stored for the worker; still 200). */
ReceiveOutcome receive_webhook(const Config& cfg, db::Db& db, const std::string& body, const std::string& sig_header,
                               int64_t now_s);

/* Applies one stored event in its own transaction (idempotent). */
Status apply_stored_event(const Config& cfg, db::Db& db, int64_t stored_id);

/* Worker: applies due stored events (new ones not applied by the receiver,
 * failed ones past their backoff). Returns how many were tried. */
int process_due_events(const Config& cfg, db::Db& db, int max_events = 50);

/* ------------------------------------------------------------ jobs */

inline constexpr const char* kJobFinalize = "payment_finalize";
inline constexpr const char* kJobRefund = "stripe_refund";
inline constexpr const char* kJobReconcile = "payment_reconcile";
inline constexpr const char* kJobMail = "payment_email";
inline constexpr const char* kJobRelease = "payment_release";
const std::vector<std::string>& job_kinds();

/* Performs one job of job_kinds(); an Error means "retry later". */
Status perform_job(const Config& cfg, db::Db& db, calcom::Client& cal, const jobs::Job& job);

/* Worker: queues a reconcile job for every payment still pending/failed a
 * minute past its checkout expiry (once per payment per minute), and queues
 * the full refund of paid bookings cancelled on Cal.com's side (not through
 * our API; at most once a minute). */
int queue_reconciles(const Config& cfg, db::Db& db);

/* ------------------------------------------------------------ bookings */

/* Inside the cancelling transaction of booking uid (any uid of its chain):
 * queues the policy refund (who = "agent") or a full one ("coach", "admin")
 * of its payment, if it has a paid one. Returns the amount queued (0: none). */
int64_t on_booking_cancelled(const Config& cfg, db::Db& tx, const std::string& uid, const std::string& who,
                             int64_t start_s, int64_t now_s);

/* "100 % up to 24 h before the start, ..." for a session type (its own
 * policy, else the platform's). */
std::string refund_policy_text(const Config& cfg, db::Db& db, int64_t cal_event_type_id);

/* The refund a cancellation by who would give now; nullopt when the booking
 * has no paid payment. */
struct CancelQuote {
  int64_t payment_id = 0;
  int64_t paid_minor = 0, refunded_minor = 0, refund_minor = 0;
  int percent = 0;
  std::string currency, rule, policy_text, refund_text, paid_text;
};
std::optional<CancelQuote> quote_cancellation(const Config& cfg, db::Db& db, const std::string& uid,
                                              const std::string& who, int64_t start_s, int64_t now_s);

/* ------------------------------------------------------------ views */

/* The payment row as the API shows it (camelCase), viewer-independent. */
Json::Value payment_json(const Config& cfg, db::Db& db, int64_t payment_id);

/* Who may see payment_id: its agent, its coach, admins. 404 otherwise. */
Status may_view(db::Db& db, const session::User& viewer, int64_t payment_id);

/* Admin refund of amount_minor (<= remainder). 400 invalid_amount, 409
 * not_refundable (not paid / nothing left), 404. Returns the refund row json. */
Result<Json::Value> admin_refund(const Config& cfg, db::Db& db, const session::User& admin, int64_t payment_id,
                                 int64_t amount_minor, const std::string& note, const std::string& key);

/* Template data of the receipt with that invoice number for viewer (agent,
 * coach, admin; else 404). */
Result<Json::Value> receipt_data(const Config& cfg, db::Db& db, const session::User& viewer, int64_t invoice_number);

/* The payment a Checkout Session id belongs to, for the /book/paid page
 * (404 when unknown or not the viewer's). */
Result<Json::Value> paid_page_data(const Config& cfg, db::Db& db, const session::User& viewer,
                                   const std::string& session_id, int64_t payment_id);

}  // namespace coach::payments
