/* web_bookings.cpp: /api/cal/bookings: create, list, show, reschedule and
 * cancel bookings (the logic is in bookings.*; this is the HTTP side: auth,
 * CSRF, JSON in and out, status codes). */
#include "bookings.hpp"
#include "json_util.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

std::vector<std::string> split_path(const std::string& path, const std::string& prefix) {
  std::vector<std::string> parts;
  if (path.size() <= prefix.size()) return parts;
  const std::string rest = path.substr(prefix.size());
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    if (slash > pos) parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

bool valid_uid(const std::string& s) {
  if (s.empty() || s.size() > 191) return false;
  for (unsigned char ch : s)
    if (!std::isalnum(ch) && ch != '-' && ch != '_') return false;
  return true;
}

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

/* 409 slot_taken with the day's fresh slots, so the page can offer others. */
Response slot_taken(bookings::Ctx& bc, const Error& e, int64_t coach_id, int64_t event_type_id,
                    const std::string& start, const std::string& tz) {
  Json::Value v;
  v["error"]["code"] = e.code;
  v["error"]["message"] = e.message;
  v["error"]["freshSlots"] = bookings::fresh_slots_for_day(bc, coach_id, event_type_id, start, tz);
  Response r = json_response(e.http_status, json::write(v));
  r.error_code = e.code;
  return r;
}

/* JSON body of a write; an empty body is {} when allow_empty. */
Result<Json::Value> json_body(const Request& req, bool allow_empty) {
  if (allow_empty && req.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::Value(Json::objectValue);
  if (!is_json(req)) return make_error(415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
  auto p = json::parse(req.body);
  if (!p) return p.error();
  if (!p->isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  return *p;
}

}  // namespace

/* GET  /api/cal/bookings?status=upcoming|past|cancelled&take&skip[&as=agent|coach]  your bookings
 * POST /api/cal/bookings                         book {coachId, eventTypeId, start, timeZone, responses, idempotencyKey}
 * GET  /api/cal/bookings/{uid}                   one booking (yours; admins any)
 * POST /api/cal/bookings/{uid}/reschedule        {start, reason, idempotencyKey}
 * POST /api/cal/bookings/{uid}/cancel            {reason}
 * Everything needs a signed-in user; cookie-authenticated writes need
 * X-CSRF-Token. Someone else's booking is 404. */
Response cal_bookings(Context& ctx, const Request& req) {
  auto parts = split_path(req.path, "/api/cal/bookings");
  if (parts.size() > 2 || (parts.size() == 2 && parts[1] != "reschedule" && parts[1] != "cancel"))
    return respond_error(req, 404, "not_found", "No such endpoint");
  if (!parts.empty() && !valid_uid(parts[0])) return respond_error(req, 404, "not_found", "No such booking");
  const bool is_write = parts.size() == 2 || (parts.empty() && req.method == "POST");
  if (is_write && req.method != "POST") return method_not_allowed(req, "POST");
  if (!is_write && req.method != "GET") return method_not_allowed(req, parts.empty() ? "GET, POST" : "GET");

  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  const session::User& me = *auth.user;
  if (is_write && !session::csrf_ok(ctx.cfg, req, auth, {}))
    return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");

  calcom::Client cal(calcom::settings_from(ctx.cfg));
  bookings::Ctx bc{ctx.cfg, ctx.db, cal};

  if (parts.empty() && req.method == "GET") {
    auto q = bookings::parse_list_query(req.query);
    if (!q) return err(req, q.error());
    auto page = bookings::list_bookings(ctx.db, me, *q);
    Json::Value v;
    v["data"] = Json::Value(Json::arrayValue);
    for (const auto& b : page.items) v["data"].append(bookings::to_json(b));
    v["pagination"]["total"] = Json::Int64(page.total);
    v["pagination"]["take"] = page.take;
    v["pagination"]["skip"] = page.skip;
    v["pagination"]["hasMore"] = page.has_more;
    Response r = json_response(200, json::write(v));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (parts.empty()) {
    auto body = json_body(req, false);
    if (!body) return err(req, body.error());
    auto in = bookings::parse_create(*body, req.header("idempotency-key"));
    if (!in) return err(req, in.error());
    auto out = bookings::create_booking(bc, me, *in);
    if (!out) {
      if (out.error().code == "slot_taken")
        return slot_taken(bc, out.error(), in->coach_user_id, in->cal_event_type_id, in->start, in->time_zone);
      return err(req, out.error());
    }
    if (out->payment_required) {
      // Priced session type (issue 7): pay first; the booking follows the payment.
      Json::Value d;
      d["status"] = "payment_required";
      d["checkoutUrl"] = out->checkout_url;
      d["checkoutSessionId"] = out->checkout_session_id;
      d["paymentId"] = Json::Int64(out->payment_id);
      d["paymentStatus"] = out->payment_status;
      d["expiresAt"] = Json::Int64(out->checkout_expires_at);
      Response r = json_ok(202, d);
      r.headers.emplace_back("Location", "/api/payments/" + std::to_string(out->payment_id));
      if (!out->created) r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
    Response r = json_ok(out->created ? 201 : 200, bookings::to_json(out->booking));
    r.headers.emplace_back("Location", "/api/cal/bookings/" + out->booking.uid);
    if (!out->created) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }
  const std::string& uid = parts[0];
  if (parts.size() == 1) {
    auto b = bookings::get_booking(ctx.db, me, uid);
    if (!b) return err(req, b.error());
    Response r = json_ok(200, bookings::to_json(*b));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (parts[1] == "reschedule") {
    auto body = json_body(req, false);
    if (!body) return err(req, body.error());
    auto in = bookings::parse_reschedule(*body, req.header("idempotency-key"));
    if (!in) return err(req, in.error());
    auto out = bookings::reschedule_booking(bc, me, uid, *in);
    if (!out) {
      if (out.error().code == "slot_taken") {
        auto old = bookings::get_booking(ctx.db, me, uid);
        if (old)
          return slot_taken(bc, out.error(), old->coach.user_id, old->event_type.cal_event_type_id, in->start,
                            old->agent.time_zone.empty() ? "UTC" : old->agent.time_zone);
      }
      return err(req, out.error());
    }
    return json_ok(200, bookings::to_json(*out));
  }
  auto body = json_body(req, true);
  if (!body) return err(req, body.error());
  auto reason = bookings::parse_cancel_reason(*body);
  if (!reason) return err(req, reason.error());
  auto out = bookings::cancel_booking(bc, me, uid, *reason);
  if (!out) return err(req, out.error());
  return json_ok(200, bookings::to_json(*out));
}

}  // namespace coach::web
