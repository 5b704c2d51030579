/* web_cal_api.cpp: /api/cal/oauth/{connect,callback} (connect an existing
 * Cal.com account with OAuth2) and /api/cal/coaches (directory, onboarding,
 * a coach's integration and token refresh as JSON). */
#include "cal_integration.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "web.hpp"

namespace coach::web {

Response cal_oauth(Context& ctx, const Request& req) {
  if (req.method != "GET") return method_not_allowed(req, "GET");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (req.path == "/api/cal/oauth/connect") {
    if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
    calcom::Client cal(calcom::settings_from(ctx.cfg));
    auto url = integration::start_oauth2(ctx.cfg, ctx.db, cal, auth.user->id);
    if (!url) return respond_error(req, url.error().http_status, url.error().code, url.error().message);
    return redirect_response(*url, 302);
  }
  if (req.path == "/api/cal/oauth/callback") {
    // The browser arrives here from Cal.com: answer with pages, not JSON.
    Request page_req = req;
    page_req.path = "/cal-oauth-callback";
    if (!auth.user) return session::require_sign_in(ctx.cfg, page_req, auth);
    std::string err = req.param("error");
    if (!err.empty()) {
      std::string msg = err == "access_denied" ? "You declined the connection in Cal.com; nothing was changed."
                                               : "Cal.com refused the connection (" + err + ").";
      return respond_error(page_req, 400, "oauth_" + (err.size() < 40 ? err : std::string("error")), msg);
    }
    calcom::Client cal(calcom::settings_from(ctx.cfg));
    auto r = integration::finish_oauth2(ctx.cfg, ctx.db, cal, auth.user->id, req.param("state"), req.param("code"));
    if (!r) return respond_error(page_req, r.error().http_status, r.error().code, r.error().message);
    return redirect_response("/cal-oauth-test?connected=1", 303);
  }
  return respond_error(req, 404, "not_found", "No such endpoint");
}

namespace {

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

}  // namespace

/* GET  /api/cal/coaches                       directory (public)
 * POST /api/cal/coaches/onboard {"userId":N}   create the managed user (self, or admin for anyone)
 * GET  /api/cal/coaches/{me|id}/integration    token status (masked)
 * POST /api/cal/coaches/{me|id}/refresh        {"mode":"if_needed"|"rotate"|"force"}
 * GET  /api/cal/coaches/{me|id}/cal-profile    GET /v2/me as the coach (refreshes on 401/498) */
Response cal_coaches(Context& ctx, const Request& req) {
  auto parts = path_tail(req.path, "/api/cal/coaches");
  if (parts.empty()) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto rows = ctx.db.query(
        "SELECT u.id, u.name, u.time_zone, p.headline, p.specialties, ci.status AS cal_status, ci.cal_username "
        "FROM users u JOIN coach_profiles p ON p.user_id = u.id LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id "
        "WHERE u.role = 'coach' AND p.is_listed = 1 ORDER BY u.name LIMIT 500");
    Json::Value arr(Json::arrayValue);
    for (const auto& r : rows) {
      Json::Value c;
      c["id"] = Json::Int64(r.i64("id"));
      c["name"] = r.str("name");
      c["timeZone"] = r.str("time_zone");
      c["headline"] = r.str("headline");
      c["specialties"] = r.str("specialties");
      c["bookable"] = r.str("cal_status") == "active";
      arr.append(c);
    }
    return json_ok(200, arr);
  }
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);

  Json::Value body(Json::objectValue);
  if (req.method == "POST") {
    if (!req.body.empty()) {
      if (!is_json(req)) return respond_error(req, 415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
      auto parsed = json::parse(req.body);
      if (!parsed) return err(req, parsed.error());
      if (!parsed->isObject()) return respond_error(req, 400, "invalid_body", "Expected a JSON object");
      body = *parsed;
    }
    if (!session::csrf_ok(ctx.cfg, req, auth, {}))
      return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  }
  calcom::Client cal(calcom::settings_from(ctx.cfg));

  if (parts.size() == 1 && parts[0] == "onboard") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    auto uid = json::get_int(body, "userId", false, auth.user->id);
    if (!uid) return err(req, uid.error());
    if (*uid != auth.user->id && !auth.user->is_admin())
      return respond_error(req, 403, "forbidden", "Only an admin can onboard another user");
    if (*uid == auth.user->id && !auth.user->is_coach() && !auth.user->is_admin())
      return respond_error(req, 403, "forbidden", "Only coaches have a Cal.com account; ask an admin to make you a coach");
    auto r = integration::onboard_coach(ctx.cfg, ctx.db, cal, *uid);
    if (!r) return err(req, r.error());
    return json_ok(200, integration::to_json(*r));
  }
  if (parts.size() != 2) return respond_error(req, 404, "not_found", "No such endpoint");

  int64_t uid = auth.user->id;
  if (parts[0] != "me") {
    char* end = nullptr;
    long long v = std::strtoll(parts[0].c_str(), &end, 10);
    if (*end != '\0' || v <= 0) return respond_error(req, 404, "not_found", "No such coach");
    uid = v;
    if (uid != auth.user->id && !auth.user->is_admin())
      return respond_error(req, 404, "not_found", "No such coach");  // do not reveal others
  }
  const std::string& what = parts[1];
  if (what == "integration") {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto i = integration::find_by_user(ctx.cfg, ctx.db, uid);
    if (!i) return respond_error(req, 404, "not_connected", "No Cal.com integration for this user");
    return json_ok(200, integration::to_json(*i));
  }
  if (what == "refresh") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    auto mode_s = json::get_string(body, "mode", false, 20);
    if (!mode_s) return err(req, mode_s.error());
    integration::RefreshMode mode = integration::RefreshMode::if_needed;
    if (*mode_s == "rotate") mode = integration::RefreshMode::rotate;
    else if (*mode_s == "force") mode = integration::RefreshMode::force_new;
    else if (!mode_s->empty() && *mode_s != "if_needed")
      return respond_error(req, 400, "invalid_field", "mode must be if_needed, rotate or force");
    auto r = integration::refresh_tokens(ctx.cfg, ctx.db, cal, uid, mode);
    if (!r) return err(req, r.error());
    Json::Value v;
    v["how"] = r->how;
    v["before"] = integration::to_json(r->before);
    v["after"] = integration::to_json(r->after);
    return json_ok(200, v);
  }
  if (what == "cal-profile") {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto r = integration::call_as_coach(ctx.cfg, ctx.db, cal, uid, "GET", "/v2/me", nullptr);
    if (!r) return err(req, r.error());
    return json_ok(200, (*r)["data"]);
  }
  return respond_error(req, 404, "not_found", "No such endpoint");
}

}  // namespace coach::web
