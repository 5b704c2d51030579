/* web_availability.cpp: /api/cal/availability (free slots; a coach's
 * schedules) and /api/cal/event-types (a coach's session types). */
#include "availability.hpp"
#include "json_util.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

/* An id in an API path or query: strtoll's reading, message quoting the name
 * ('coachId' must be ...). Not the pages' positive_id (web.hpp): answers differ. */
Result<int64_t> api_positive_id(const std::string& s, const char* what) {
  char* end = nullptr;
  long long v = s.empty() ? 0 : std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v <= 0)
    return make_error(400, "invalid_field", std::string("'") + what + "' must be a positive number");
  return static_cast<int64_t>(v);
}

/* The coach a management call acts on: yourself (a coach), or ?coachId= for
 * admins. Agents get 403. */
Result<int64_t> managed_coach(const session::Auth& auth, const Request& req) {
  if (!auth.user->is_coach() && !auth.user->is_admin())
    return make_error(403, "coaches_only", "Only coaches manage schedules and session types");
  std::string q = req.param("coachId");
  if (q.empty()) return auth.user->id;
  auto id = api_positive_id(q, "coachId");
  if (!id) return id.error();
  if (*id != auth.user->id && !auth.user->is_admin()) return make_error(403, "forbidden", "You can only manage your own calendar");
  return *id;
}

Result<Json::Value> json_body(const Request& req) {
  if (!is_json(req)) return make_error(415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
  auto p = json::parse(req.body);
  if (!p) return p.error();
  if (!p->isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  return *p;
}

/* Auth + CSRF + JSON body for a write; fills coach id and body. */
std::optional<Response> prepare_write(Context& ctx, const Request& req, const session::Auth& auth, int64_t* coach_id,
                                      Json::Value* body, bool needs_body) {
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  if (!session::csrf_ok(ctx.cfg, req, auth, {}))
    return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  auto cid = managed_coach(auth, req);
  if (!cid) return err(req, cid.error());
  *coach_id = *cid;
  if (needs_body) {
    auto b = json_body(req);
    if (!b) return err(req, b.error());
    *body = *b;
  }
  return std::nullopt;
}

}  // namespace

/* GET    /api/cal/availability?coachId&eventTypeId&start&end&timeZone[&duration]   free slots (public)
 * GET    /api/cal/availability/schedules[?coachId][&sync=1]   the coach's schedules
 * POST   /api/cal/availability/schedules                      create
 * PATCH  /api/cal/availability/schedules/{id}                 update (lists replace)
 * DELETE /api/cal/availability/schedules/{id}                 delete */
Response cal_availability(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/cal/availability");
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  availability::Ctx ac{ctx.cfg, ctx.db, cal};
  if (parts.empty()) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto coach = api_positive_id(req.param("coachId"), "coachId");
    if (!coach) return err(req, coach.error());
    auto et = api_positive_id(req.param("eventTypeId"), "eventTypeId");
    if (!et) return err(req, et.error());
    availability::SlotQuery q;
    q.coach_user_id = *coach;
    q.cal_event_type_id = *et;
    q.start = req.param("start");
    q.end = req.param("end");
    q.time_zone = req.param("timeZone").empty() ? "UTC" : req.param("timeZone");
    if (!req.param("duration").empty()) {
      auto d = api_positive_id(req.param("duration"), "duration");
      if (!d) return err(req, d.error());
      q.duration_min = static_cast<int>(std::min<int64_t>(*d, 100000));
    }
    auto a = availability::free_slots(ac, q);
    if (!a) return err(req, a.error());
    Json::Value v;
    v["coachId"] = Json::Int64(q.coach_user_id);
    v["eventTypeId"] = Json::Int64(q.cal_event_type_id);
    v["timeZone"] = q.time_zone;
    v["start"] = a->window_start;
    v["end"] = a->window_end;
    v["source"] = a->source;
    v["degraded"] = a->degraded;
    v["days"] = a->days;
    Response r = json_ok(200, v);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (parts[0] != "schedules" || parts.size() > 2) return respond_error(req, 404, "not_found", "No such endpoint");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (parts.size() == 1 && req.method == "GET") {
    if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
    auto cid = managed_coach(auth, req);
    if (!cid) return err(req, cid.error());
    std::vector<availability::ScheduleRow> rows;
    if (req.param("sync") == "1") {
      auto s = availability::sync_schedules(ac, *cid);
      if (!s) return err(req, s.error());
      rows = *s;
    } else {
      rows = availability::list_schedules(ctx.db, *cid);
    }
    Json::Value arr(Json::arrayValue);
    for (const auto& s : rows) arr.append(availability::to_json(s));
    return json_ok(200, arr);
  }
  if (parts.size() == 1 && req.method == "POST") {
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, true)) return *early;
    auto s = availability::create_schedule(ac, cid, body);
    if (!s) return err(req, s.error());
    return json_ok(201, availability::to_json(*s));
  }
  if (parts.size() == 1) return method_not_allowed(req, "GET, POST");
  auto sid = api_positive_id(parts[1], "schedule id");
  if (!sid) return respond_error(req, 404, "not_found", "No such schedule");
  if (req.method == "PATCH") {
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, true)) return *early;
    auto s = availability::update_schedule(ac, cid, *sid, body);
    if (!s) return err(req, s.error());
    return json_ok(200, availability::to_json(*s));
  }
  if (req.method == "DELETE") {
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, false)) return *early;
    auto s = availability::delete_schedule(ac, cid, *sid);
    if (!s) return err(req, s.error());
    Json::Value v;
    v["deleted"] = Json::Int64(*sid);
    return json_ok(200, v);
  }
  return method_not_allowed(req, "PATCH, DELETE");
}

/* GET    /api/cal/event-types?coachId=N          a coach's visible session types (public)
 * GET    /api/cal/event-types/mine[?sync=1]      your own, hidden included
 * POST   /api/cal/event-types                    create
 * PATCH  /api/cal/event-types/{id}               update
 * DELETE /api/cal/event-types/{id}               delete */
Response cal_event_types(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/cal/event-types");
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  availability::Ctx ac{ctx.cfg, ctx.db, cal};
  auto list_json = [](const std::vector<availability::EventTypeRow>& rows, bool include_hidden) {
    Json::Value arr(Json::arrayValue);
    for (const auto& e : rows)
      if (include_hidden || !e.hidden) arr.append(availability::to_json(e));
    return arr;
  };
  if (parts.empty() && req.method == "GET") {
    auto coach = api_positive_id(req.param("coachId"), "coachId");
    if (!coach) return err(req, coach.error());
    if (!ctx.db.query_one("SELECT id FROM users WHERE id = ? AND role = 'coach'", {*coach}))
      return respond_error(req, 404, "unknown_coach", "No coach with id " + std::to_string(*coach));
    return json_ok(200, list_json(availability::list_event_types(ctx.db, *coach), false));
  }
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (parts.size() == 1 && parts[0] == "mine") {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
    auto cid = managed_coach(auth, req);
    if (!cid) return err(req, cid.error());
    std::vector<availability::EventTypeRow> rows;
    if (req.param("sync") == "1") {
      auto s = availability::sync_event_types(ac, *cid);
      if (!s) return err(req, s.error());
      rows = *s;
    } else {
      rows = availability::list_event_types(ctx.db, *cid);
    }
    return json_ok(200, list_json(rows, true));
  }
  if (parts.empty()) {
    if (req.method != "POST") return method_not_allowed(req, "GET, POST");
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, true)) return *early;
    auto e = availability::create_event_type(ac, cid, body);
    if (!e) return err(req, e.error());
    return json_ok(201, availability::to_json(*e));
  }
  if (parts.size() != 1) return respond_error(req, 404, "not_found", "No such endpoint");
  auto id = api_positive_id(parts[0], "event type id");
  if (!id) return respond_error(req, 404, "not_found", "No such session type");
  if (req.method == "GET") {
    auto e = availability::find_event_type(ctx.db, *id);
    if (!e || e->hidden) return respond_error(req, 404, "unknown_event_type", "No such session type");
    return json_ok(200, availability::to_json(*e));
  }
  if (req.method == "PATCH") {
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, true)) return *early;
    auto e = availability::update_event_type(ac, cid, *id, body);
    if (!e) return err(req, e.error());
    return json_ok(200, availability::to_json(*e));
  }
  if (req.method == "DELETE") {
    int64_t cid = 0;
    Json::Value body;
    if (auto early = prepare_write(ctx, req, auth, &cid, &body, false)) return *early;
    auto s = availability::delete_event_type(ac, cid, *id);
    if (!s) return err(req, s.error());
    Json::Value v;
    v["deleted"] = Json::Int64(*id);
    return json_ok(200, v);
  }
  return method_not_allowed(req, "GET, PATCH, DELETE");
}

}  // namespace coach::web
