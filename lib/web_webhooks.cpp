/* web_webhooks.cpp: /api/cal/webhooks/receiver (Cal.com delivers here) and
 * /api/cal/webhooks (management of our Cal.com webhooks, the inbox,
 * monitoring, replay, the signing helper and reconciliation on demand). */
#include <cstdlib>

#include "fcgi_serve.hpp"
#include "http_client.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "reconcile.hpp"
#include "web.hpp"
#include "webhook_sig.hpp"
#include "webhooks.hpp"

namespace coach::web {

int run_endpoint_capped(const std::string& name, HandlerFn fn, size_t max_body_bytes) {
  const Config cfg = load_config_or_die();
  log::set_output(cfg.log_file);
  http_client::global_init();
  db::Db db(db::settings_from(cfg));
  Context ctx{cfg, db};
  fcgi::ServeOptions opts;
  opts.endpoint = name;
  opts.max_body_bytes = max_body_bytes;
  return fcgi::serve(opts, [&](const Request& req) { return dispatch(ctx, req, fn); });
}

/* POST /api/cal/webhooks/receiver: Cal.com's deliveries. No session, no CSRF:
 * the signature is the authentication. */
Response cal_webhooks_receiver(Context& ctx, const Request& req) {
  if (req.method != "POST") return method_not_allowed(req, "POST");
  if (req.body_too_large || req.body.size() > webhooks::kMaxBodyBytes)
    return respond_error(req, 413, "body_too_large",
                         "Webhook body is larger than " + std::to_string(webhooks::kMaxBodyBytes) + " bytes");
  auto o = webhooks::receive(ctx.cfg, ctx.db, req.body, req.header(webhook_sig::kHeader));
  if (o.http_status != 200) return respond_error(req, o.http_status, o.error_code, o.error_message);
  Json::Value v;
  v["received"] = true;
  v["duplicate"] = o.duplicate;
  return json_response(200, json::write(v));
}

namespace {

std::vector<std::string> parts_after(const std::string& path, const std::string& prefix) {
  std::vector<std::string> parts;
  if (path.size() <= prefix.size()) return parts;
  std::string rest = path.substr(prefix.size());
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    if (slash > pos) parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

Response err(const Request& req, const Error& e) { return respond_error(req, e.http_status, e.code, e.message); }

/* A positive decimal id, or 0. */
int64_t parse_id(const std::string& s) {
  if (s.empty() || s.size() > 18) return 0;
  for (char c : s)
    if (c < '0' || c > '9') return 0;
  return std::strtoll(s.c_str(), nullptr, 10);
}

struct Who {
  session::Auth auth;
  const session::User& user() const { return *auth.user; }
  bool admin() const { return auth.user->is_admin(); }
};

/* The (scope, owner) a request names: scope=user|platform, coachId=me|<id>.
 * Coaches manage their own webhooks; admins anyone's and the platform's. */
Result<std::pair<webhooks::Scope, int64_t>> target_of(const Who& w, const std::string& scope_s, const std::string& coach_s) {
  auto scope = webhooks::parse_scope(scope_s);
  if (!scope) return make_error(400, "invalid_field", "scope must be user or platform");
  if (*scope == webhooks::Scope::platform) {
    if (!w.admin()) return make_error(403, "forbidden", "Only an admin can manage platform-wide webhooks");
    return std::make_pair(*scope, int64_t(0));
  }
  int64_t owner = w.user().id;
  if (!coach_s.empty() && coach_s != "me") {
    owner = parse_id(coach_s);
    if (!owner) return make_error(400, "invalid_field", "coachId must be me or a user id");
  }
  if (owner != w.user().id && !w.admin()) return make_error(404, "not_found", "No such coach");
  if (owner == w.user().id && !w.user().is_coach() && !w.admin())
    return make_error(403, "forbidden", "Only coaches have Cal.com webhooks");
  return std::make_pair(*scope, owner);
}

bool may_manage(const Who& w, const webhooks::Subscription& s) {
  if (w.admin()) return true;
  return s.scope == webhooks::Scope::user && s.owner_user_id == w.user().id;
}

std::string body_or_query(const Json::Value& body, const Request& req, const char* key) {
  std::string v = json::str(body, key);
  return v.empty() ? req.param(key) : v;
}

Response events_route(Context& ctx, const Request& req, const Who& w, const std::vector<std::string>& parts) {
  if (!w.admin()) return respond_error(req, 403, "forbidden", "Only an admin can see the webhook inbox");
  if (parts.size() == 1) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    webhooks::InboxFilter f;
    f.trigger = req.param("trigger");
    f.status = req.param("status");
    f.booking_uid = req.param("bookingUid");
    f.coach_user_id = parse_id(req.param("coachId"));
    f.since = req.param("since");
    f.until = req.param("until");
    f.before_id = parse_id(req.param("beforeId"));
    if (!req.param("limit").empty()) f.limit = static_cast<int>(std::min<int64_t>(500, parse_id(req.param("limit"))));
    static const std::vector<std::string> statuses = {"", "pending", "retry", "done", "dead", "failed"};
    if (std::find(statuses.begin(), statuses.end(), f.status) == statuses.end())
      return respond_error(req, 400, "invalid_field", "status must be pending, retry, done, dead or failed");
    auto page = webhooks::list_events(ctx.db, f);
    Json::Value v;
    Json::Value arr(Json::arrayValue);
    for (const auto& e : page.events) arr.append(webhooks::to_json(e));
    v["events"] = arr;
    v["nextBeforeId"] = Json::Int64(page.next_before_id);
    v["total"] = Json::Int64(page.total);
    return json_ok(200, v);
  }
  if (parts.size() == 2 && parts[1] == "replay-dead") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    Json::Value v;
    v["replayed"] = Json::Int64(webhooks::replay_all_dead(ctx.db));
    return json_ok(200, v);
  }
  const int64_t id = parts.size() >= 2 ? parse_id(parts[1]) : 0;
  if (!id) return respond_error(req, 404, "not_found", "No such webhook event");
  if (parts.size() == 2) {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto e = webhooks::get_event(ctx.db, id);
    if (!e) return respond_error(req, 404, "unknown_event", "No such webhook event");
    return json_ok(200, webhooks::to_json(*e));
  }
  if (parts.size() == 3 && parts[2] == "replay") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    auto s = webhooks::replay_event(ctx.db, id);
    if (!s) return err(req, s.error());
    // Apply at once so the caller sees the result; the worker would otherwise.
    webhooks::apply_event(ctx.cfg, ctx.db, id, "");
    return json_ok(200, webhooks::to_json(*webhooks::get_event(ctx.db, id)));
  }
  return respond_error(req, 404, "not_found", "No such endpoint");
}

}  // namespace

/* GET    /api/cal/webhooks?scope=user|platform&coachId=me|N  our subscriptions
 * POST   /api/cal/webhooks {scope?, coachId?, subscriberUrl, triggers?, active?, secret?}  create (201)
 * POST   /api/cal/webhooks/default {scope?, coachId?}      one-call default setup
 * GET    /api/cal/webhooks/remote?scope=&coachId=          Cal.com's own list
 * GET|PATCH|DELETE /api/cal/webhooks/{id}                  one subscription
 * GET    /api/cal/webhooks/events?trigger=&status=&bookingUid=&coachId=&since=&until=&beforeId=&limit=  (admin)
 * GET    /api/cal/webhooks/events/{id}                     with the raw body (admin)
 * POST   /api/cal/webhooks/events/{id}/replay              (admin)
 * POST   /api/cal/webhooks/events/replay-dead              (admin)
 * GET    /api/cal/webhooks/stats?hours=24                  (admin)
 * POST   /api/cal/webhooks/sign {body, secret? | subscriptionId?}  test helper (admin)
 * POST   /api/cal/webhooks/reconcile {coachId}             reconcile one coach now (admin) */
Response cal_webhooks(Context& ctx, const Request& req) {
  if (req.path == webhooks::kReceiverPath) return cal_webhooks_receiver(ctx, req);
  auto parts = parts_after(req.path, "/api/cal/webhooks");
  Who w;
  w.auth = session::authenticate(ctx.cfg, ctx.db, req);
  if (!w.auth.user) return session::require_sign_in(ctx.cfg, req, w.auth);

  Json::Value body(Json::objectValue);
  if (req.method == "POST" || req.method == "PATCH" || req.method == "DELETE") {
    if (!req.body.empty()) {
      if (!is_json(req)) return respond_error(req, 415, "unsupported_media_type", "Send a JSON body (Content-Type: application/json)");
      auto parsed = json::parse(req.body);
      if (!parsed) return err(req, parsed.error());
      if (!parsed->isObject()) return respond_error(req, 400, "invalid_body", "Expected a JSON object");
      body = *parsed;
    }
    if (!session::csrf_ok(ctx.cfg, req, w.auth, {}))
      return respond_error(req, 403, "csrf_failed", "Missing or wrong X-CSRF-Token header for a cookie-authenticated request");
  }
  calcom::Client cal(calcom::settings_from(ctx.cfg));
  webhooks::Ctx c{ctx.cfg, ctx.db, cal};

  if (parts.empty()) {
    if (req.method == "GET") {
      const std::string scope_s = req.param("scope"), coach_s = req.param("coachId");
      std::optional<webhooks::Scope> scope;
      int64_t owner = 0;
      if (w.admin() && coach_s.empty()) {
        // Admins see everything unless they narrow it.
        if (!scope_s.empty()) {
          scope = webhooks::parse_scope(scope_s);
          if (!scope) return respond_error(req, 400, "invalid_field", "scope must be user or platform");
        }
      } else {
        auto t = target_of(w, scope_s, coach_s);
        if (!t) return err(req, t.error());
        scope = t->first;
        owner = t->second;
      }
      Json::Value arr(Json::arrayValue);
      for (const auto& s : webhooks::list_subscriptions(ctx.db, scope, owner)) arr.append(webhooks::to_json(s));
      return json_ok(200, arr);
    }
    if (req.method == "POST") {
      auto t = target_of(w, body_or_query(body, req, "scope"), body_or_query(body, req, "coachId"));
      if (!t) return err(req, t.error());
      auto in = webhooks::parse_subscription_input(body, true);
      if (!in) return err(req, in.error());
      auto r = webhooks::create_subscription(c, t->first, t->second, *in, w.user().id);
      if (!r) return err(req, r.error());
      return json_ok(201, webhooks::to_json(*r));
    }
    return method_not_allowed(req, "GET, POST");
  }

  const std::string& what = parts[0];
  if (what == "events") return events_route(ctx, req, w, parts);
  if (parts.size() == 1 && what == "default") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    auto t = target_of(w, body_or_query(body, req, "scope"), body_or_query(body, req, "coachId"));
    if (!t) return err(req, t.error());
    auto r = webhooks::setup_default(c, t->first, t->second, w.user().id);
    if (!r) return err(req, r.error());
    Json::Value v;
    v["subscription"] = webhooks::to_json(r->subscription);
    v["created"] = r->created;
    v["adopted"] = r->adopted;
    v["removedDuplicates"] = r->removed_duplicates;
    return json_ok(r->created ? 201 : 200, v);
  }
  if (parts.size() == 1 && what == "remote") {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    auto t = target_of(w, req.param("scope"), req.param("coachId"));
    if (!t) return err(req, t.error());
    auto r = webhooks::list_remote(c, t->first, t->second);
    if (!r) return err(req, r.error());
    return json_ok(200, *r);
  }
  if (parts.size() == 1 && what == "stats") {
    if (req.method != "GET") return method_not_allowed(req, "GET");
    if (!w.admin()) return respond_error(req, 403, "forbidden", "Only an admin can see webhook stats");
    int hours = 24;
    if (!req.param("hours").empty()) hours = static_cast<int>(std::min<int64_t>(24 * 90, parse_id(req.param("hours"))));
    if (hours <= 0) return respond_error(req, 400, "invalid_field", "hours must be a positive integer");
    return json_ok(200, webhooks::to_json(webhooks::stats(ctx.db, hours)));
  }
  if (parts.size() == 1 && what == "sign") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    if (!w.admin()) return respond_error(req, 403, "forbidden", "Only an admin can sign test webhooks");
    const Json::Value& b = body["body"];
    if (!b.isString()) return respond_error(req, 400, "missing_field", "body (the exact text to sign) is required");
    std::string sig;
    if (body["secret"].isString() && !body["secret"].asString().empty()) {
      sig = webhooks::sign_body(body["secret"].asString(), b.asString());
    } else {
      auto sid = json::get_int(body, "subscriptionId", false, 0);
      if (!sid) return err(req, sid.error());
      auto s = webhooks::sign_body_for(ctx.cfg, ctx.db, *sid, b.asString());
      if (!s) return err(req, s.error());
      sig = *s;
    }
    Json::Value v;
    v["header"] = "X-Cal-Signature-256";
    v["signature"] = sig;
    v["bytes"] = Json::Int64(b.asString().size());
    return json_ok(200, v);
  }
  if (parts.size() == 1 && what == "reconcile") {
    if (req.method != "POST") return method_not_allowed(req, "POST");
    if (!w.admin()) return respond_error(req, 403, "forbidden", "Only an admin can start a reconciliation");
    auto uid = json::get_int(body, "coachId", true);
    if (!uid) return err(req, uid.error());
    auto r = reconcile::reconcile_coach(ctx.cfg, ctx.db, cal, *uid);
    if (!r) return err(req, r.error());
    Json::Value v;
    v["coachId"] = Json::Int64(r->coach_user_id);
    v["seen"] = r->n_seen;
    v["changed"] = r->n_changed;
    v["invalid"] = r->n_invalid;
    v["pages"] = r->n_pages;
    return json_ok(200, v);
  }

  const int64_t id = parts.size() == 1 ? parse_id(what) : 0;
  if (!id) return respond_error(req, 404, "not_found", "No such endpoint");
  auto sub = webhooks::find_subscription(ctx.db, id);
  if (!sub || !may_manage(w, *sub)) return respond_error(req, 404, "unknown_subscription", "No such webhook subscription");
  if (req.method == "GET") return json_ok(200, webhooks::to_json(*sub));
  if (req.method == "PATCH") {
    auto in = webhooks::parse_subscription_input(body, false);
    if (!in) return err(req, in.error());
    auto r = webhooks::update_subscription(c, id, *in);
    if (!r) return err(req, r.error());
    return json_ok(200, webhooks::to_json(*r));
  }
  if (req.method == "DELETE") {
    auto s = webhooks::delete_subscription(c, id);
    if (!s) return err(req, s.error());
    Json::Value v;
    v["deleted"] = true;
    v["id"] = Json::Int64(id);
    return json_ok(200, v);
  }
  return method_not_allowed(req, "GET, PATCH, DELETE");
}

}  // namespace coach::web
