/* web_sessions.cpp: /api/cal/sessions: coaching sessions as JSON (the logic
 * is in sessions.*; this is the HTTP side: auth, CSRF, JSON in and out). */
#include <cctype>

#include "json_util.hpp"
#include "sessions.hpp"
#include "slot_engine.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

bool valid_uid(const std::string& s) {
  if (s.empty() || s.size() > 191) return false;
  for (unsigned char ch : s)
    if (!std::isalnum(ch) && ch != '-' && ch != '_') return false;
  return true;
}

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

Result<Json::Value> json_body(const Request& req, bool allow_empty) {
  if (allow_empty && req.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::Value(Json::objectValue);
  if (!is_json(req)) return make_error(415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
  auto p = json::parse(req.body);
  if (!p) return p.error();
  if (!p->isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  return *p;
}

/* ?tz= (validated) or the viewer's zone, else UTC. */
Result<std::string> viewer_zone(const Request& req, const session::User& me) {
  const std::string tz = req.param("tz");
  if (!tz.empty()) {
    if (tz.size() > 64 || !slots::is_valid_zone(tz))
      return make_error(400, "invalid_time_zone", "Unknown time zone '" + clip(tz) + "'");
    return tz;
  }
  return !me.time_zone.empty() && slots::is_valid_zone(me.time_zone) ? me.time_zone : std::string("UTC");
}

Response no_store(Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Json::Value session_with_notes(db::Db& db, const sessions::SessionView& s, const std::string& zone) {
  Json::Value v = sessions::to_json(s, zone);
  v["notes"] = Json::Value(Json::arrayValue);
  for (const auto& n : sessions::list_notes(db, s)) v["notes"].append(sessions::to_json(n));
  return v;
}

}  // namespace

/* GET   /api/cal/sessions?when=upcoming|past|all&status=&as=agent|coach&take&skip&tz=   your sessions
 * GET   /api/cal/sessions/{uid}?tz=                     one session (any uid of its chain) with the notes you may read
 * GET   /api/cal/sessions/{uid}/notes                   those notes
 * POST  /api/cal/sessions/{uid}/notes                   {body, visibility: private|shared}   (coach, admin)
 * PATCH /api/cal/sessions/{uid}/notes/{id}              {body, version, visibility?}  409 version_conflict + current
 * GET   /api/cal/sessions/{uid}/notes/{id}/history      every version, newest first
 * POST  /api/cal/sessions/{uid}/complete                mark completed (coach, admin)
 * POST  /api/cal/sessions/{uid}/no-show                 mark the agent absent (Cal.com mark-absent; coach, admin)
 * Signed-in users only; cookie-authenticated writes need X-CSRF-Token.
 * Someone else's session is 404. */
Response cal_sessions(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/cal/sessions");
  const size_t n = parts.size();
  bool known = n <= 1 || (n == 2 && (parts[1] == "notes" || parts[1] == "complete" || parts[1] == "no-show")) ||
               (n == 3 && parts[1] == "notes") || (n == 4 && parts[1] == "notes" && parts[3] == "history");
  if (!known) return respond_error(req, 404, "not_found", "No such endpoint");
  if (n >= 1 && !valid_uid(parts[0])) return respond_error(req, 404, "not_found", "No such session");
  int64_t note_id = 0;
  if (n >= 3) {
    auto id = positive_id(parts[2], "note id");
    if (!id) return respond_error(req, 404, "not_found", "No such note");
    note_id = *id;
  }
  std::string allowed = "GET";
  if (n == 2 && parts[1] == "notes") allowed = "GET, POST";
  else if (n == 2) allowed = "POST";
  else if (n == 3) allowed = "PATCH";
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  if (method.empty() || (allowed.find(method) == std::string::npos)) return method_not_allowed(req, allowed);
  const bool is_write = method == "POST" || method == "PATCH";

  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  const session::User& me = *auth.user;
  if (is_write && !session::csrf_ok(ctx.cfg, req, auth, {}))
    return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  auto zone = viewer_zone(req, me);
  if (!zone) return err(req, zone.error());

  if (n == 0) {
    auto q = sessions::parse_list_query(req.query);
    if (!q) return err(req, q.error());
    auto page = sessions::list_sessions(ctx.db, me, *q);
    Json::Value v;
    v["data"] = Json::Value(Json::arrayValue);
    for (const auto& s : page.items) v["data"].append(sessions::to_json(s, *zone));
    v["pagination"]["total"] = Json::Int64(page.total);
    v["pagination"]["take"] = page.take;
    v["pagination"]["skip"] = page.skip;
    v["pagination"]["hasMore"] = page.has_more;
    v["timeZone"] = *zone;
    return no_store(json_response(200, json::write(v)));
  }
  const std::string& uid = parts[0];
  if (n == 1) {
    auto s = sessions::get_session(ctx.db, me, uid);
    if (!s) return err(req, s.error());
    return no_store(json_ok(200, session_with_notes(ctx.db, *s, *zone)));
  }
  if (parts[1] == "complete" || parts[1] == "no-show") {
    auto body = json_body(req, true);
    if (!body) return err(req, body.error());
    calcom::Client cal(calcom::settings_from(ctx.cfg));
    auto s = parts[1] == "complete" ? sessions::mark_completed(ctx.db, me, uid)
                                    : sessions::mark_no_show(ctx.cfg, ctx.db, cal, me, uid);
    if (!s) return err(req, s.error());
    return json_ok(200, session_with_notes(ctx.db, *s, *zone));
  }
  // notes
  if (n == 2 && method != "POST") {
    auto s = sessions::get_session(ctx.db, me, uid);
    if (!s) return err(req, s.error());
    Json::Value arr(Json::arrayValue);
    for (const auto& note : sessions::list_notes(ctx.db, *s)) arr.append(sessions::to_json(note));
    return no_store(json_ok(200, arr));
  }
  if (n == 4) {
    auto h = sessions::note_history(ctx.db, me, uid, note_id);
    if (!h) return err(req, h.error());
    Json::Value arr(Json::arrayValue);
    for (const auto& r : *h) {
      Json::Value x;
      x["version"] = r.version;
      x["visibility"] = r.visibility;
      x["body"] = r.body;
      x["editedBy"] = r.edited_by_name;
      x["createdAt"] = r.created_at;
      arr.append(x);
    }
    return no_store(json_ok(200, arr));
  }
  auto body = json_body(req, false);
  if (!body) return err(req, body.error());
  auto in = sessions::parse_note(*body, n == 3);
  if (!in) return err(req, in.error());
  if (n == 2) {
    auto note = sessions::add_note(ctx.db, me, uid, *in);
    if (!note) return err(req, note.error());
    return json_ok(201, sessions::to_json(*note));
  }
  auto out = sessions::edit_note(ctx.db, me, uid, note_id, *in);
  if (out.error) {
    if (out.current) {
      Json::Value v;
      v["error"]["code"] = out.error->code;
      v["error"]["message"] = out.error->message;
      v["error"]["current"] = sessions::to_json(*out.current);
      Response r = json_response(409, json::write(v));
      r.error_code = out.error->code;
      return r;
    }
    return err(req, *out.error);
  }
  return json_ok(200, sessions::to_json(*out.note));
}

}  // namespace coach::web
