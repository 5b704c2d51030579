/* web_home.cpp: GET / (the coach directory), GET /healthz, /sign-in, /sign-out. */
#include "json_util.hpp"
#include "web.hpp"

namespace coach::web {

/* The marketplace home: every listed coach with whether they can be booked
 * yet (an active Cal.com integration). Public; shows who is signed in. */
Response home(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
  if (req.path != "/") return respond_error(req, 404, "not_found", "No such page");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  std::string q = req.param("q");
  if (q.size() > 100) q.resize(100);
  auto rows = ctx.db.query(
      "SELECT u.id, u.name, u.time_zone, p.headline, p.bio, p.specialties, p.city, "
      "ci.status AS cal_status FROM users u JOIN coach_profiles p ON p.user_id = u.id "
      "LEFT JOIN CalendarIntegration ci ON ci.user_id = u.id "
      "WHERE u.role = 'coach' AND p.is_listed = 1 AND (? = '' OR u.name LIKE CONCAT('%', ?, '%') "
      "OR p.specialties LIKE CONCAT('%', ?, '%') OR p.city LIKE CONCAT('%', ?, '%')) ORDER BY u.name LIMIT 100",
      {q, q, q, q});
  Json::Value coaches(Json::arrayValue);
  for (const auto& r : rows) {
    Json::Value c;
    c["id"] = r.str("id");
    c["name"] = r.str("name");
    c["time_zone"] = r.str("time_zone");
    c["headline"] = r.str("headline");
    c["bio"] = r.str("bio");
    c["city"] = r.str("city");
    Json::Value tags(Json::arrayValue);
    std::string s = r.str("specialties");
    size_t pos = 0;
    while (pos < s.size()) {
      size_t comma = s.find(',', pos);
      if (comma == std::string::npos) comma = s.size();
      std::string t = s.substr(pos, comma - pos);
      while (!t.empty() && t.front() == ' ') t.erase(0, 1);
      if (!t.empty()) tags.append(t);
      pos = comma + 1;
    }
    c["tags"] = tags;
    c["bookable"] = r.str("cal_status") == "active";
    coaches.append(c);
  }
  if (req.wants_json() || req.param("format") == "json") return json_ok(200, coaches);
  Json::Value data;
  data["coaches"] = coaches;
  data["has_coaches"] = !coaches.empty();
  data["q"] = q;
  data["count"] = static_cast<int>(coaches.size());
  return page(ctx, req, auth, "home", "Find a coach", data);
}

/* Liveness for load balancers and the benchmark: one DB round trip. */
Response health(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
  Json::Value v;
  bool db_ok = ctx.db.ping();
  v["ok"] = db_ok;
  v["db"] = db_ok;
  return json_response(db_ok ? 200 : 503, json::write(v));
}

/* /sign-in hands over to Clerk's sign-in page (the emulator in local mode),
 * which sets the __session cookie and comes back; /sign-out likewise. Only
 * our own origin is accepted as the place to come back to. */
Response auth(Context& ctx, const Request& req) {
  if (req.method != "GET") return method_not_allowed(req, "GET");
  std::string back = req.param("redirect_url");
  if (back.rfind(ctx.cfg.public_base_url + "/", 0) != 0) back = ctx.cfg.public_base_url + "/";
  if (req.path == "/sign-in") return redirect_response(ctx.cfg.clerk_sign_in_url + "?redirect_url=" + url_encode(back), 303);
  if (req.path == "/sign-out") {
    Response r = redirect_response(ctx.cfg.clerk_sign_out_url + "?redirect_url=" + url_encode(ctx.cfg.public_base_url + "/"), 303);
    r.headers.emplace_back("Set-Cookie", make_set_cookie("__session", "", 0, false));
    return r;
  }
  return respond_error(req, 404, "not_found", "No such page");
}

}  // namespace coach::web
