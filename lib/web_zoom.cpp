/* web_zoom.cpp: the HTTP side of Zoom: POST /api/zoom/webhook (Zoom's
 * deliveries), /api/cal/zoom (status, live credential check, test meetings,
 * booking meetings, recent webhook events; coaches and admins) and the
 * /cal-zoom-integration-test page. The logic is in lib/meetings. */
#include <ctime>

#include "json_util.hpp"
#include "meetings.hpp"
#include "web.hpp"
#include "zoom_sig.hpp"

namespace coach::web {
namespace {

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

Result<Json::Value> json_body(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::Value(Json::objectValue);
  if (!is_json(req)) return make_error(415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
  auto p = json::parse(req.body);
  if (!p) return p.error();
  if (!p->isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  return *p;
}

bool valid_uid(const std::string& s) {
  if (s.empty() || s.size() > 191) return false;
  for (unsigned char ch : s)
    if (!std::isalnum(ch) && ch != '-' && ch != '_') return false;
  return true;
}

Json::Value status_json(Context& ctx) {
  Json::Value v = meetings::to_json(meetings::token_status(ctx.cfg, ctx.db));
  v["apiBaseUrl"] = ctx.cfg.zoom_api_base_url;
  v["webhookSecretConfigured"] = !ctx.cfg.zoom_webhook_secret.empty();
  v["webhookUrl"] = ctx.cfg.public_base_url + "/api/zoom/webhook";
  auto c = ctx.db.query_one(
      "SELECT SUM(state = 'pending') AS pending, SUM(state = 'failed') AS failed, SUM(state = 'created') AS created "
      "FROM zoom_meetings WHERE purpose = 'booking'");
  v["bookingMeetings"]["pending"] = Json::Int64(c ? c->i64("pending") : 0);
  v["bookingMeetings"]["failed"] = Json::Int64(c ? c->i64("failed") : 0);
  v["bookingMeetings"]["created"] = Json::Int64(c ? c->i64("created") : 0);
  return v;
}

/* Loads meeting id for the user; 404 for unknown or someone else's. */
Result<meetings::MeetingRow> load_meeting(Context& ctx, const session::User& me, const std::string& id_s) {
  auto id = positive_id(id_s, "meeting id");
  if (!id) return make_error(404, "not_found", "No such meeting");
  auto m = meetings::by_id(ctx.cfg, ctx.db, *id);
  if (!m || !meetings::may_manage(*m, me.id, me.is_admin())) return make_error(404, "not_found", "No such meeting");
  return *m;
}

}  // namespace

/* POST /api/zoom/webhook: Zoom's event deliveries (signed; see meetings::receive_webhook). */
Response zoom_webhook(Context& ctx, const Request& req) {
  if (req.method != "POST") return method_not_allowed(req, "POST");
  if (req.body_too_large || req.body.size() > meetings::kMaxWebhookBody)
    return respond_error(req, 413, "body_too_large", "Webhook body is too large");
  auto o = meetings::receive_webhook(ctx.cfg, ctx.db, req.body, req.header(zoom_sig::kSignatureHeader),
                                     req.header(zoom_sig::kTimestampHeader), static_cast<int64_t>(std::time(nullptr)));
  if (o.http_status != 200) return respond_error(req, o.http_status, o.error_code, o.error_message);
  return json_response(200, json::write(o.reply));
}

/* GET    /api/cal/zoom                      status: configured, token cached until, last error
 * POST   /api/cal/zoom/check                live token fetch (credential check)
 * GET    /api/cal/zoom/meetings[?purpose=test|booking]   meetings you may see
 * POST   /api/cal/zoom/meetings             create a test meeting {topic, start, duration, timeZone, agenda,
 *                                           waitingRoom, joinBeforeHost, autoRecording}
 * GET    /api/cal/zoom/meetings/{id}        stored row + live GET from Zoom
 * PATCH  /api/cal/zoom/meetings/{id}        update (same fields)
 * DELETE /api/cal/zoom/meetings/{id}        delete at Zoom
 * GET    /api/cal/zoom/bookings/{uid}       the meeting of a booking's chain
 * GET    /api/cal/zoom/events               recent Zoom webhook events
 * Coaches and admins; cookie-authenticated writes need X-CSRF-Token. */
Response cal_zoom(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/cal/zoom");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  const session::User& me = *auth.user;
  if (!me.is_coach() && !me.is_admin()) return respond_error(req, 403, "coaches_only", "Zoom management is for coaches and admins");
  const bool write = req.method == "POST" || req.method == "PATCH" || req.method == "DELETE";
  if (write && !session::csrf_ok(ctx.cfg, req, auth, {}))
    return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  zoom::Client z(zoom::settings_from(ctx.cfg));

  if (parts.empty()) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    Response r = json_ok(200, status_json(ctx));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (parts[0] == "check" && parts.size() == 1) {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    auto t = meetings::access_token(ctx.cfg, ctx.db, z, true);
    if (!t) return err(req, t.error());
    Json::Value v = status_json(ctx);
    v["ok"] = true;
    return json_ok(200, v);
  }
  if (parts[0] == "events" && parts.size() == 1) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    return json_ok(200, meetings::recent_events(ctx.db, me.id, me.is_admin(), 50));
  }
  if (parts[0] == "bookings" && parts.size() == 2) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    if (!valid_uid(parts[1])) return respond_error(req, 404, "not_found", "No such booking");
    auto b = ctx.db.query_one("SELECT coach_user_id, agent_user_id FROM CalBooking WHERE cal_uid = ?", {parts[1]});
    if (!b || (!me.is_admin() && b->i64("coach_user_id") != me.id && b->i64("agent_user_id") != me.id))
      return respond_error(req, 404, "not_found", "No such booking");
    auto m = meetings::for_booking(ctx.cfg, ctx.db, parts[1]);
    if (!m) return respond_error(req, 404, "no_meeting", "This booking has no Zoom meeting (not a video session of ours)");
    return json_ok(200, meetings::to_json(*m, me.is_admin() || m->coach_user_id == me.id));
  }
  if (parts[0] != "meetings" || parts.size() > 2) return respond_error(req, 404, "not_found", "No such endpoint");
  if (parts.size() == 1) {
    if (req.method == "GET") {
      const std::string purpose = req.param("purpose");
      if (!purpose.empty() && purpose != "test" && purpose != "booking")
        return respond_error(req, 400, "invalid_field", "purpose must be test or booking");
      Json::Value arr(Json::arrayValue);
      for (const auto& m : meetings::list_meetings(ctx.cfg, ctx.db, me.id, me.is_admin(), purpose, 100))
        arr.append(meetings::to_json(m, true));
      return json_ok(200, arr);
    }
    if (req.method != "POST") return method_not_allowed(req, "GET, POST");
    auto body = json_body(req);
    if (!body) return err(req, body.error());
    zoom::MeetingSpec base;
    base.timezone = me.time_zone.empty() ? "UTC" : me.time_zone;
    auto spec = meetings::parse_spec(*body, base, true);
    if (!spec) return err(req, spec.error());
    auto m = meetings::create_test_meeting(ctx.cfg, ctx.db, z, me.id, *spec);
    if (!m) return err(req, m.error());
    Response r = json_ok(201, meetings::to_json(*m, true));
    r.headers.emplace_back("Location", "/api/cal/zoom/meetings/" + std::to_string(m->id));
    return r;
  }
  auto m = load_meeting(ctx, me, parts[1]);
  if (!m) return err(req, m.error());
  if (req.method == "GET") {
    auto live = meetings::get_live(ctx.cfg, ctx.db, z, *m);
    if (!live) return err(req, live.error());
    Json::Value v = meetings::to_json(live->first, true);
    v["live"] = live->second;
    Response r = json_ok(200, v);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (req.method == "PATCH") {
    auto body = json_body(req);
    if (!body) return err(req, body.error());
    auto spec = meetings::parse_spec(*body, meetings::spec_of(*m), false);
    if (!spec) return err(req, spec.error());
    auto u = meetings::update_meeting(ctx.cfg, ctx.db, z, *m, *spec);
    if (!u) return err(req, u.error());
    return json_ok(200, meetings::to_json(*u, true));
  }
  if (req.method == "DELETE") {
    auto d = meetings::delete_meeting(ctx.cfg, ctx.db, z, *m);
    if (!d) return err(req, d.error());
    Json::Value v;
    v["deleted"] = true;
    v["id"] = Json::Int64(m->id);
    return json_ok(200, v);
  }
  return method_not_allowed(req, "GET, PATCH, DELETE");
}

namespace {

/* "YYYY-MM-DDTHH:MM" (datetime-local, read as UTC) or a full ISO instant -> ISO Z; "" if neither. */
std::string form_start(const std::string& v) {
  if (v.size() == 16 && v[10] == 'T') return v + ":00Z";
  if (v.size() == 19 && v[10] == 'T') return v + "Z";
  return v;
}

/* Form fields -> the JSON body parse_spec takes (checkboxes: absent = false). */
Json::Value spec_body_from_form(const Form& f, bool with_flags) {
  Json::Value b(Json::objectValue);
  if (!field(f, "topic").empty()) b["topic"] = field(f, "topic");
  if (!field(f, "start").empty()) b["start"] = form_start(trim(field(f, "start")));
  if (!field(f, "duration").empty()) {
    const std::string d = trim(field(f, "duration"));
    if (all_digits(d) && d.size() <= 6) b["duration"] = std::stoi(d);
    else b["duration"] = d;  // parse_spec names it
  }
  if (!field(f, "agenda").empty()) b["agenda"] = field(f, "agenda");
  if (!field(f, "time_zone").empty()) b["timeZone"] = field(f, "time_zone");
  if (with_flags) {
    b["waitingRoom"] = !field(f, "waiting_room").empty();
    b["joinBeforeHost"] = !field(f, "join_before_host").empty();
    if (!field(f, "auto_recording").empty()) b["autoRecording"] = field(f, "auto_recording");
  }
  return b;
}

/* An upstream URL we put into an href: http(s) only, else not shown. */
std::string safe_url(const std::string& u) {
  return u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0 ? u : "";
}

Json::Value meeting_view(const meetings::MeetingRow& m) {
  Json::Value v;
  v["id"] = std::to_string(m.id);
  v["purpose"] = m.purpose;
  v["provider"] = m.provider;
  v["state"] = m.state;
  v["is_created"] = m.state == "created";
  v["is_failed"] = m.state == "failed";
  v["zoom_meeting_id"] = m.zoom_meeting_id ? std::to_string(m.zoom_meeting_id) : "";
  v["topic"] = m.topic;
  v["start_utc"] = m.start_utc;
  v["start_input"] = m.start_utc.size() >= 16 ? m.start_utc.substr(0, 16) : "";
  v["duration_min"] = m.duration_min;
  v["time_zone"] = m.time_zone;
  v["waiting_room"] = m.settings.get("waitingRoom", false).asBool() ? "on" : "off";
  v["join_before_host"] = m.settings.get("joinBeforeHost", false).asBool() ? "on" : "off";
  v["auto_recording"] = m.settings.get("autoRecording", "").asString();
  v["join_url"] = text_or_null(safe_url(m.join_url));
  v["start_url"] = text_or_null(safe_url(m.start_url));
  v["booking_uid"] = text_or_null(m.booking_uid);
  v["zoom_status"] = m.zoom_status;
  v["last_error"] = text_or_null(m.last_error);
  v["attempts"] = m.n_attempts;
  return v;
}

}  // namespace

/* /cal-zoom-integration-test: connection status and a live credential check,
 * test meetings with chosen options (create, show join/start URLs, refresh
 * from Zoom, update, delete), booking meetings and recent Zoom webhook events.
 * Coaches and admins; the start URL is shown only to them. */
Response cal_zoom_integration_test(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  const session::User& me = *auth.user;
  if (!me.is_coach() && !me.is_admin())
    return error_for(ctx, req, auth, 403, "coaches_only", "This page is for coaches and admins.");
  Form form;
  if (req.method == "POST") {
    if (!is_form(req))
      return error_for(ctx, req, auth, 415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded");
    form = form_fields(req);
    if (!session::csrf_ok(ctx.cfg, req, auth, form))
      return error_for(ctx, req, auth, 403, "csrf_failed",
                       "The form has expired or did not come from this site; reload the page and try again");
  }
  std::vector<zoom::Exchange> exchanges;
  zoom::Client z(zoom::settings_from(ctx.cfg), &exchanges);
  Json::Value data(Json::objectValue);
  int status = 200;
  auto fail = [&](const Error& e) {
    data["error"] = e.message;
    data["error_code"] = e.code;
    status = e.http_status;
  };
  if (req.method == "POST") {
    const std::string action = field(form, "action");
    if (action == "check") {
      auto t = meetings::access_token(ctx.cfg, ctx.db, z, true);
      if (!t) fail(t.error());
      else data["notice"] = "Zoom accepted the credentials: a new access token was issued and cached.";
    } else if (action == "create") {
      zoom::MeetingSpec base;
      base.timezone = me.time_zone.empty() ? "UTC" : me.time_zone;
      auto spec = meetings::parse_spec(spec_body_from_form(form, true), base, true);
      if (!spec) {
        fail(spec.error());
      } else {
        auto m = meetings::create_test_meeting(ctx.cfg, ctx.db, z, me.id, *spec);
        if (!m) fail(m.error());
        else data["notice"] = "Test meeting " + std::to_string(m->zoom_meeting_id) + " created.";
      }
    } else if (action == "update" || action == "delete" || action == "refresh") {
      auto id = positive_id(field(form, "id"), "id");
      std::optional<meetings::MeetingRow> m;
      if (id) m = meetings::by_id(ctx.cfg, ctx.db, *id);
      if (!m || !meetings::may_manage(*m, me.id, me.is_admin())) {
        fail(make_error(404, "not_found", "No such meeting"));
      } else if (action == "delete") {
        auto d = meetings::delete_meeting(ctx.cfg, ctx.db, z, *m);
        if (!d) fail(d.error());
        else data["notice"] = "Meeting " + std::to_string(m->zoom_meeting_id) + " deleted at Zoom.";
      } else if (action == "refresh") {
        auto live = meetings::get_live(ctx.cfg, ctx.db, z, *m);
        if (!live) fail(live.error());
        else {
          data["notice"] = "Meeting " + std::to_string(m->zoom_meeting_id) + " read back from Zoom.";
          data["live_json"] = json::write_pretty(live->second);
        }
      } else {
        auto spec = meetings::parse_spec(spec_body_from_form(form, false), meetings::spec_of(*m), false);
        if (!spec) fail(spec.error());
        else if (auto u = meetings::update_meeting(ctx.cfg, ctx.db, z, *m, *spec); !u) fail(u.error());
        else data["notice"] = "Meeting " + std::to_string(m->zoom_meeting_id) + " updated.";
      }
    } else {
      fail(make_error(400, "unknown_action", "Unknown action"));
    }
  }
  const auto ts = meetings::token_status(ctx.cfg, ctx.db);
  Json::Value st;
  st["configured"] = ts.configured;
  st["token_cached"] = ts.has_token;
  st["token"] = ts.token_masked.empty() ? "(none)" : ts.token_masked;
  st["expires_in"] = ts.has_token ? std::to_string((ts.expires_at_ms - static_cast<int64_t>(std::time(nullptr)) * 1000) / 1000) + " s" : "—";
  st["fetches"] = Json::Int64(ts.n_fetches);
  st["last_fetched_at"] = ts.last_fetched_at.empty() ? "never" : ts.last_fetched_at;
  st["last_error"] = text_or_null(ts.last_error);
  st["api_base_url"] = ctx.cfg.zoom_api_base_url;
  st["webhook_url"] = ctx.cfg.public_base_url + "/api/zoom/webhook";
  st["webhook_secret"] = !ctx.cfg.zoom_webhook_secret.empty();
  data["zoom"] = st;
  Json::Value tests(Json::arrayValue), bookings(Json::arrayValue);
  for (const auto& m : meetings::list_meetings(ctx.cfg, ctx.db, me.id, me.is_admin(), "test", 20)) tests.append(meeting_view(m));
  for (const auto& m : meetings::list_meetings(ctx.cfg, ctx.db, me.id, me.is_admin(), "booking", 20))
    bookings.append(meeting_view(m));
  data["tests"] = tests;
  data["has_tests"] = !tests.empty();
  data["bookings"] = bookings;
  data["has_bookings"] = !bookings.empty();
  Json::Value events = meetings::recent_events(ctx.db, me.id, me.is_admin(), 20);
  for (auto& e : events) e["zoomMeetingId"] = e["zoomMeetingId"].isNull() ? "" : std::to_string(e["zoomMeetingId"].asInt64());
  data["events"] = events;
  data["has_events"] = !events.empty();
  data["default_time_zone"] = me.time_zone.empty() ? "UTC" : me.time_zone;
  Json::Value ex(Json::arrayValue);
  for (const auto& e : exchanges) {
    Json::Value v;
    v["method"] = e.method;
    v["url"] = e.url;
    v["status"] = e.transport_error.empty() ? std::to_string(e.status) : "transport error";
    v["ok"] = e.transport_error.empty() && e.status >= 200 && e.status < 300;
    std::string body = e.request_body;
    if (auto p = json::parse(body); p) body = json::write_pretty(*p);
    v["request_body"] = body;
    std::string resp = e.transport_error.empty() ? e.response_body : e.transport_error;
    if (auto p = json::parse(resp); p) resp = json::write_pretty(*p);
    v["response_body"] = resp;
    v["elapsed_ms"] = std::to_string(static_cast<int>(e.elapsed_ms));
    ex.append(v);
  }
  data["exchanges"] = ex;
  data["has_exchanges"] = !ex.empty();
  return page(ctx, req, auth, "cal_zoom_integration_test", "Zoom integration — test", data, status);
}

}  // namespace coach::web
