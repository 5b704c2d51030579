/* web_payments.cpp: the HTTP side of payments (issue 7; logic in payments.*):
 *   POST /api/stripe/webhook                 Stripe's deliveries (signature checked, stored, applied)
 *   GET  /api/payments?booking=<uid>         the payment of a booking (agent, coach, admin)
 *   GET  /api/payments/quote?booking=<uid>   the refund a cancellation by the viewer would give now
 *   GET  /api/payments/{id}                  one payment with its refunds
 *   POST /api/payments/{id}/refund           admin: {amountMinor, note, idempotencyKey}
 *   GET  /receipts/{number}                  the printable receipt (agent, coach, admin)
 */
#include <ctime>

#include "bookings.hpp"
#include "json_util.hpp"
#include "payments.hpp"
#include "slot_engine.hpp"
#include "stripe_sig.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

constexpr size_t kMaxWebhookBody = 256 * 1024;

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

bool plausible_uid(const std::string& s) {
  if (s.empty() || s.size() > 191) return false;
  for (unsigned char ch : s)
    if (!std::isalnum(ch) && ch != '-' && ch != '_') return false;
  return true;
}

int64_t start_s_of(const bookings::BookingView& b) {
  auto t = slots::parse_iso(b.start_utc);
  return t ? static_cast<int64_t>(t->time_since_epoch().count()) : 0;
}

std::string role_of(const bookings::BookingView& b, const session::User& me) {
  if (b.agent.user_id == me.id) return "agent";
  if (b.coach.user_id == me.id) return "coach";
  return "admin";
}

}  // namespace

Response stripe_webhook(Context& ctx, const Request& req) {
  if (req.method != "POST") return method_not_allowed(req, "POST");
  if (req.body_too_large || req.body.size() > kMaxWebhookBody)
    return respond_error(req, 413, "body_too_large", "Webhook body is larger than 256 KiB");
  auto o = payments::receive_webhook(ctx.cfg, ctx.db, req.body, req.header(stripe_sig::kHeader),
                                     static_cast<int64_t>(std::time(nullptr)));
  if (o.http_status != 200) return respond_error(req, o.http_status, o.code, o.message);
  Json::Value v;
  v["received"] = true;
  v["duplicate"] = o.duplicate;
  v["applied"] = o.applied;
  return json_response(200, json::write(v));
}

Response payments_api(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/payments");
  const bool is_refund = parts.size() == 2 && parts[1] == "refund";
  if (parts.size() > 2 || (parts.size() == 2 && !is_refund)) return respond_error(req, 404, "not_found", "No such endpoint");
  if (is_refund ? req.method != "POST" : (req.method != "GET" && req.method != "HEAD"))
    return method_not_allowed(req, is_refund ? "POST" : "GET");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  const session::User& me = *auth.user;

  if (parts.empty() || parts[0] == "quote") {
    const std::string uid = req.param("booking");
    if (uid.empty()) return respond_error(req, 400, "missing_field", "Missing ?booking=<booking uid>");
    if (!plausible_uid(uid)) return respond_error(req, 404, "not_found", "No such booking");
    auto b = bookings::get_booking(ctx.db, me, uid);
    if (!b) return err(req, b.error());
    if (parts.empty()) {
      auto row = ctx.db.query_one("SELECT id FROM payments WHERE booking_uid = ? LIMIT 1",
                                  {b->ics_uid.substr(0, b->ics_uid.find('@'))});
      if (!row) return json_ok(200, Json::Value());
      return json_ok(200, payments::payment_json(ctx.cfg, ctx.db, row->i64("id")));
    }
    const int64_t st = start_s_of(*b);
    auto q = payments::quote_cancellation(ctx.cfg, ctx.db, uid, role_of(*b, me), st,
                                          static_cast<int64_t>(std::time(nullptr)));
    Json::Value d;
    d["bookingUid"] = uid;
    d["canCancel"] = b->can_cancel;
    if (!q) {
      d["paid"] = false;
      d["refundMinor"] = 0;
      return json_ok(200, d);
    }
    d["paid"] = true;
    d["paymentId"] = Json::Int64(q->payment_id);
    d["currency"] = q->currency;
    d["amountPaidMinor"] = Json::Int64(q->paid_minor);
    d["alreadyRefundedMinor"] = Json::Int64(q->refunded_minor);
    d["refundMinor"] = Json::Int64(q->refund_minor);
    d["percent"] = q->percent;
    d["rule"] = q->rule;
    d["policy"] = q->policy_text;
    d["refundText"] = q->refund_text;
    Response r = json_ok(200, d);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

  auto id = positive_id(parts[0], "payment id");
  if (!id) return respond_error(req, 404, "not_found", "No such payment");
  if (auto ok = payments::may_view(ctx.db, me, *id); !ok) return err(req, ok.error());
  if (!is_refund) {
    Response r = json_ok(200, payments::payment_json(ctx.cfg, ctx.db, *id));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (!session::csrf_ok(ctx.cfg, req, auth, {}))
    return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  if (!me.is_admin()) return respond_error(req, 403, "forbidden", "Only an admin can issue a manual refund");
  if (!is_json(req)) return respond_error(req, 415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
  auto body = json::parse(req.body);
  if (!body) return err(req, body.error());
  if (!body->isObject()) return respond_error(req, 400, "invalid_body", "Expected a JSON object");
  const Json::Value& amt = (*body)["amountMinor"];
  if (amt.isNull()) return respond_error(req, 400, "missing_field", "Missing 'amountMinor' (a whole number of minor units)");
  if (!amt.isInt64() || amt.asInt64() <= 0)
    return respond_error(req, 400, "invalid_amount", "'amountMinor' must be a positive whole number of minor units");
  std::string note;
  if (!(*body)["note"].isNull()) {
    if (!(*body)["note"].isString() || (*body)["note"].asString().size() > 500)
      return respond_error(req, 400, "invalid_field", "'note' must be text of at most 500 characters");
    note = (*body)["note"].asString();
  }
  std::string key = req.header("idempotency-key");
  if (!(*body)["idempotencyKey"].isNull()) {
    if (!(*body)["idempotencyKey"].isString()) return respond_error(req, 400, "invalid_field", "'idempotencyKey' must be text");
    key = (*body)["idempotencyKey"].asString();
  }
  if (key.empty() || key.size() > 100 || !plausible_uid(key))
    return respond_error(req, 400, "invalid_field",
                         "An idempotency key (1-100 of A-Z a-z 0-9 - _) is required: 'idempotencyKey' or Idempotency-Key");
  auto out = payments::admin_refund(ctx.cfg, ctx.db, me, *id, amt.asInt64(), note, key);
  if (!out) return err(req, out.error());
  return json_ok(202, *out);
}

Response receipts_page(Context& ctx, const Request& req) {
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
  auto parts = path_tail(req.path, "/receipts");
  if (parts.size() != 1 || !all_digits(parts[0]) || parts[0].size() > 18)
    return error_for(ctx, req, auth, 404, "not_found", "No such receipt");
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  auto d = payments::receipt_data(ctx.cfg, ctx.db, *auth.user, std::stoll(parts[0]));
  if (!d) return error_for(ctx, req, auth, d.error().http_status, d.error().code, d.error().message);
  if (req.param("format") == "json") return json_ok(200, *d);
  return page(ctx, req, auth, "receipt", "Receipt " + parts[0], *d);
}

}  // namespace coach::web
