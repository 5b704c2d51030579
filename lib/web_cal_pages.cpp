/* web_cal_pages.cpp: the cal-oauth-test and cal-db-test pages: onboard a coach
 * as a Cal.com managed user, list managed users, show token status, refresh
 * and force-refresh, read the CalendarIntegration row back, with every raw
 * Cal.com exchange shown (secrets masked). */
#include "cal_integration.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "web.hpp"

namespace coach::web {
namespace {

struct Target {
  int64_t user_id = 0;
  std::string name, email, role;
};

/* The user a test-page action is for: yourself, or (admins) ?user_id=. */
Result<Target> resolve_target(Context& ctx, const session::Auth& auth, const std::string& user_id_param) {
  int64_t id = auth.user->id;
  if (!user_id_param.empty()) {
    char* end = nullptr;
    long long v = std::strtoll(user_id_param.c_str(), &end, 10);
    if (*end != '\0' || v <= 0) return make_error(400, "invalid_field", "user_id must be a positive number");
    if (v != id && !auth.user->is_admin())
      return make_error(403, "forbidden", "Only an admin can act for another user");
    id = v;
  }
  auto row = ctx.db.query_one("SELECT id, name, email, role FROM users WHERE id = ?", {id});
  if (!row) return make_error(404, "unknown_user", "No user with id " + std::to_string(id));
  return Target{row->i64("id"), row->str("name"), row->str("email"), row->str("role")};
}

Json::Value users_for_admin(Context& ctx, int64_t selected) {
  Json::Value arr(Json::arrayValue);
  for (const auto& r : ctx.db.query("SELECT id, name, email, role FROM users ORDER BY role, name LIMIT 500")) {
    Json::Value u;
    u["id"] = r.str("id");
    u["label"] = r.str("name") + " <" + r.str("email") + "> (" + r.str("role") + ")";
    u["selected"] = r.i64("id") == selected;
    arr.append(u);
  }
  return arr;
}

/* Runs one POSTed action; fills notice/error and the data to show. */
void run_action(Context& ctx, calcom::Client& cal, const std::string& action, const Target& t, Json::Value& data) {
  auto fail = [&](const Error& e) {
    data["error"] = e.message;
    data["error_code"] = e.code;
    data["status"] = e.http_status;
  };
  if (action == "onboard") {
    auto r = integration::onboard_coach(ctx.cfg, ctx.db, cal, t.user_id);
    if (!r) return fail(r.error());
    data["notice"] = "Cal.com managed user " + std::to_string(r->cal_user_id) + " (" + r->cal_username +
                     ") is stored for " + t.name + ".";
    data["result_json"] = json::write_pretty(integration::to_json(*r));
  } else if (action == "refresh" || action == "force_refresh") {
    auto mode = action == "refresh" ? integration::RefreshMode::rotate : integration::RefreshMode::force_new;
    auto r = integration::refresh_tokens(ctx.cfg, ctx.db, cal, t.user_id, mode);
    if (!r) return fail(r.error());
    data["notice"] = "Tokens refreshed (" + r->how + ").";
    data["before_json"] = json::write_pretty(integration::to_json(r->before));
    data["after_json"] = json::write_pretty(integration::to_json(r->after));
    data["has_before_after"] = true;
  } else if (action == "check") {
    auto r = integration::call_as_coach(ctx.cfg, ctx.db, cal, t.user_id, "GET", "/v2/me", nullptr);
    if (!r) return fail(r.error());
    data["notice"] = "The stored token works: GET /v2/me answered.";
    data["result_json"] = json::write_pretty((*r)["data"]);
  } else if (action == "read") {
    auto i = integration::find_by_user(ctx.cfg, ctx.db, t.user_id);
    if (!i) return fail(make_error(404, "not_connected", t.name + " has no CalendarIntegration row yet"));
    data["notice"] = "Read back from the CalendarIntegration table.";
    data["result_json"] = json::write_pretty(integration::to_json(*i));
  } else {
    fail(make_error(400, "unknown_action", "Unknown action '" + action + "'"));
  }
}

Response cal_test_page(Context& ctx, const Request& req, const std::string& tmpl, const std::string& title) {
  if (req.method != "GET" && req.method != "POST") return method_not_allowed(req, "GET, POST");
  auto auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!auth.user) return session::require_sign_in(ctx.cfg, req, auth);
  if (!auth.user->is_coach() && !auth.user->is_admin())
    return error_for(ctx, req, auth, 403, "coaches_only",
                         "This page is for coaches and admins. Ask an admin to make you a coach.");
  std::map<std::string, std::string> form;
  if (req.method == "POST") {
    if (!is_form(req)) return error_for(ctx, req, auth, 415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded");
    form = form_fields(req);
    if (!session::csrf_ok(ctx.cfg, req, auth, form))
      return error_for(ctx, req, auth, 403, "csrf_failed", "The form has expired or did not come from this site; reload the page and try again");
  }
  std::string uid_param = req.method == "POST" ? (form.count("user_id") ? form["user_id"] : "") : req.param("user_id");
  auto target = resolve_target(ctx, auth, uid_param);
  if (!target) return error_for(ctx, req, auth, target.error().http_status, target.error().code, target.error().message);

  std::vector<calcom::Exchange> exchanges;
  calcom::Client cal(calcom::settings_from(ctx.cfg), &exchanges);
  Json::Value data(Json::objectValue);
  int status = 200;
  if (req.method == "POST") {
    run_action(ctx, cal, form["action"], *target, data);
    if (data.isMember("status")) status = data["status"].asInt();
  }
  if (req.param("connected") == "1") data["notice"] = "Your existing Cal.com account is connected.";

  data["target"]["id"] = std::to_string(target->user_id);
  data["target"]["name"] = target->name;
  data["target"]["email"] = target->email;
  auto integ = integration::find_by_user(ctx.cfg, ctx.db, target->user_id);
  if (integ) {
    Json::Value i = integration::to_json(*integ);
    data["integration"] = i;
    data["integration"]["expires_in"] = std::to_string(i["accessTokenExpiresInS"].asInt64()) + " s";
    data["integration"]["is_active"] = integ->status == "active";
    data["integration"]["is_managed"] = integ->provider == "cal_managed";
  }
  data["is_admin"] = auth.user->is_admin();
  if (auth.user->is_admin()) data["users"] = users_for_admin(ctx, target->user_id);

  if (tmpl == "cal_oauth_test") {
    // Managed users of our OAuth client, straight from Cal.com.
    int limit = 20, offset = 0;
    try {
      if (!req.param("limit").empty()) limit = std::stoi(req.param("limit"));
      if (!req.param("offset").empty()) offset = std::stoi(req.param("offset"));
    } catch (...) {
      return error_for(ctx, req, auth, 400, "invalid_field", "limit and offset must be numbers");
    }
    if (limit < 1 || limit > 250 || offset < 0 || offset > 250)
      return error_for(ctx, req, auth, 400, "invalid_field", "limit must be 1-250 and offset 0-250");
    std::string email = req.param("email");
    std::vector<std::string> emails;
    if (!email.empty()) emails.push_back(email);
    auto users = cal.list_managed_users(limit, offset, emails);
    if (users) {
      Json::Value arr(Json::arrayValue);
      for (const auto& u : *users) {
        Json::Value v;
        v["id"] = Json::Int64(u.id);
        v["email"] = u.email;
        v["username"] = u.username;
        v["name"] = u.name;
        v["time_zone"] = u.time_zone;
        v["default_schedule_id"] = u.default_schedule_id ? std::to_string(u.default_schedule_id) : "none";
        arr.append(v);
      }
      data["managed_users"] = arr;
      data["has_managed_users"] = !arr.empty();
      data["limit"] = limit;
      data["email_filter"] = email;
      if (offset > 0) data["prev_offset"] = std::to_string(std::max(0, offset - limit));
      if (static_cast<int>(users->size()) == limit) data["next_offset"] = std::to_string(offset + limit);
    } else {
      data["list_error"] = users.error().message;
    }
  } else {
    Json::Value rows(Json::arrayValue);
    for (const auto& r : ctx.db.query(
             "SELECT ci.user_id, u.name, ci.provider, ci.status, ci.cal_user_id, ci.token_version, ci.refresh_count, "
             "LEFT(ci.access_token_enc, 14) AS enc_prefix, LENGTH(ci.access_token_enc) AS enc_len, "
             "DATE_FORMAT(ci.updated_at, '%Y-%m-%d %H:%i:%s') AS updated_at FROM CalendarIntegration ci "
             "JOIN users u ON u.id = ci.user_id WHERE ? OR ci.user_id = ? ORDER BY ci.user_id",
             {int64_t(auth.user->is_admin() ? 1 : 0), auth.user->id})) {
      Json::Value v;
      for (const auto& c : {"user_id", "name", "provider", "status", "cal_user_id", "token_version", "refresh_count", "updated_at"})
        v[c] = r.str(c);
      v["ciphertext"] = r.is_null("enc_prefix") ? "(none)" : r.str("enc_prefix") + "… (" + r.str("enc_len") + " bytes)";
      rows.append(v);
    }
    data["rows"] = rows;
    data["has_rows"] = !rows.empty();
  }
  data["exchanges"] = exchanges_json(exchanges);
  data["has_exchanges"] = !exchanges.empty();
  return page(ctx, req, auth, tmpl, title, data, status);
}

}  // namespace

Response cal_oauth_test(Context& ctx, const Request& req) {
  return cal_test_page(ctx, req, "cal_oauth_test", "Cal.com OAuth & managed users — test");
}

Response cal_db_test(Context& ctx, const Request& req) {
  return cal_test_page(ctx, req, "cal_db_test", "Cal.com database integration — test");
}

}  // namespace coach::web
