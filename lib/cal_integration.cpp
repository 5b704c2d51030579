/* cal_integration.cpp: onboarding, encrypted token storage and serialized refresh. */
#include "cal_integration.hpp"

#include "crypto.hpp"
#include "log.hpp"

namespace coach::integration {
namespace {

const char* kSelect =
    "SELECT id, user_id, provider, status, cal_user_id, cal_username, cal_email, time_zone, "
    "default_schedule_id, access_token_enc, refresh_token_enc, access_expires_at_ms, refresh_expires_at_ms, "
    "token_version, refresh_count, DATE_FORMAT(last_refreshed_at, '%Y-%m-%dT%H:%i:%sZ') AS last_refreshed_at, "
    "last_error, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at, "
    "DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at FROM CalendarIntegration ";

std::string aad(int64_t user_id, const char* which) {
  return "CalendarIntegration:" + std::to_string(user_id) + ":" + which;
}

struct Secrets {
  std::string access, refresh;
};

Integration from_row(const Config& cfg, const db::Row& r, Secrets* secrets = nullptr) {
  Integration i;
  i.id = r.i64("id");
  i.user_id = r.i64("user_id");
  i.provider = r.str("provider");
  i.status = r.str("status");
  i.cal_user_id = r.i64("cal_user_id");
  i.cal_username = r.str("cal_username");
  i.cal_email = r.str("cal_email");
  i.time_zone = r.str("time_zone");
  i.default_schedule_id = r.i64("default_schedule_id");
  i.access_expires_at_ms = r.i64("access_expires_at_ms");
  i.refresh_expires_at_ms = r.i64("refresh_expires_at_ms");
  i.token_version = r.i64("token_version");
  i.refresh_count = r.i64("refresh_count");
  i.last_refreshed_at = r.str("last_refreshed_at");
  i.last_error = r.str("last_error");
  i.created_at = r.str("created_at");
  i.updated_at = r.str("updated_at");
  i.has_tokens = !r.is_null("access_token_enc") && !r.is_null("refresh_token_enc");
  if (i.has_tokens) {
    auto a = crypto::open(cfg.token_encryption_key, r.str("access_token_enc"), aad(i.user_id, "access"));
    auto f = crypto::open(cfg.token_encryption_key, r.str("refresh_token_enc"), aad(i.user_id, "refresh"));
    if (a && f) {
      i.access_token_masked = log::mask(*a);
      i.refresh_token_masked = log::mask(*f);
      if (secrets) {
        secrets->access = *a;
        secrets->refresh = *f;
      }
    } else {
      // Wrong key or tampered row: treat as having no usable tokens.
      i.has_tokens = false;
      i.access_token_masked = i.refresh_token_masked = "(cannot decrypt)";
    }
  }
  return i;
}

void store_tokens(const Config& cfg, db::Db& db, int64_t user_id, const calcom::Tokens& t, bool count_refresh) {
  db.exec(std::string("UPDATE CalendarIntegration SET access_token_enc = ?, refresh_token_enc = ?, "
                      "access_expires_at_ms = ?, refresh_expires_at_ms = ?, token_version = token_version + 1, ") +
              (count_refresh ? "refresh_count = refresh_count + 1, last_refreshed_at = CURRENT_TIMESTAMP(3), " : "") +
              "status = 'active', last_error = NULL WHERE user_id = ?",
          {crypto::seal(cfg.token_encryption_key, t.access_token, aad(user_id, "access")),
           crypto::seal(cfg.token_encryption_key, t.refresh_token, aad(user_id, "refresh")),
           t.access_expires_at_ms, t.refresh_expires_at_ms, user_id});
}

void record_error(db::Db& db, int64_t user_id, const Error& e) {
  try {
    db.exec("UPDATE CalendarIntegration SET last_error = ? WHERE user_id = ?",
            {(e.code + ": " + e.message).substr(0, 500), user_id});
  } catch (const std::exception& ex) {
    log::warn("could not record integration error", {{"what", ex.what()}});
  }
}

}  // namespace

Json::Value to_json(const Integration& i) {
  Json::Value v;
  v["id"] = Json::Int64(i.id);
  v["userId"] = Json::Int64(i.user_id);
  v["provider"] = i.provider;
  v["status"] = i.status;
  v["calUserId"] = Json::Int64(i.cal_user_id);
  v["calUsername"] = i.cal_username;
  v["calEmail"] = i.cal_email;
  v["timeZone"] = i.time_zone;
  v["defaultScheduleId"] = i.default_schedule_id ? Json::Value(Json::Int64(i.default_schedule_id)) : Json::Value();
  v["accessTokenExpiresAt"] = Json::Int64(i.access_expires_at_ms);
  v["refreshTokenExpiresAt"] = Json::Int64(i.refresh_expires_at_ms);
  v["accessTokenExpiresInS"] = Json::Int64((i.access_expires_at_ms - calcom::now_ms()) / 1000);
  v["tokenVersion"] = Json::Int64(i.token_version);
  v["refreshCount"] = Json::Int64(i.refresh_count);
  v["lastRefreshedAt"] = i.last_refreshed_at;
  v["lastError"] = i.last_error.empty() ? Json::Value() : Json::Value(i.last_error);
  v["hasTokens"] = i.has_tokens;
  v["accessToken"] = i.access_token_masked;
  v["refreshToken"] = i.refresh_token_masked;
  v["updatedAt"] = i.updated_at;
  return v;
}

std::optional<Integration> find_by_user(const Config& cfg, db::Db& db, int64_t user_id) {
  auto r = db.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id});
  if (!r) return std::nullopt;
  return from_row(cfg, *r);
}

std::vector<Integration> list_all(const Config& cfg, db::Db& db) {
  std::vector<Integration> out;
  for (const auto& r : db.query(std::string(kSelect) + "ORDER BY id")) out.push_back(from_row(cfg, r));
  return out;
}

Result<Integration> onboard_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id) {
  std::optional<Error> failure;
  std::optional<Integration> result;
  db.transaction([&](db::Db& tx) {
    failure.reset();
    result.reset();
    // The user row lock serializes concurrent onboardings of the same person.
    auto user = tx.query_one("SELECT id, email, name, role, time_zone FROM users WHERE id = ? FOR UPDATE", {user_id});
    if (!user) {
      failure = make_error(404, "unknown_user", "No user with id " + std::to_string(user_id));
      return;
    }
    auto existing = tx.query_one(std::string(kSelect) + "WHERE user_id = ? FOR UPDATE", {user_id});
    if (existing) {
      Integration i = from_row(cfg, *existing);
      if (i.status == "active" && i.has_tokens) {
        result = i;
        return;
      }
    } else {
      tx.exec("INSERT INTO CalendarIntegration (user_id, provider, status) VALUES (?, 'cal_managed', 'pending')",
              {user_id});
    }
    const std::string email = user->str("email");
    // An earlier attempt may have created the Cal.com user and died before
    // storing it: look it up first so we never create a duplicate.
    std::optional<calcom::ManagedUser> cal_user;
    calcom::Tokens tokens;
    auto found = cal.list_managed_users(10, 0, {email});
    if (!found) {
      failure = found.error();
    } else if (!found->empty()) {
      cal_user = found->front();
      auto t = cal.force_refresh(cal_user->id);
      if (!t) failure = t.error();
      else tokens = *t;
    } else {
      calcom::NewManagedUser nu;
      nu.email = email;
      nu.name = user->str("name");
      nu.time_zone = user->str("time_zone");
      nu.metadata["marketplaceUserId"] = std::to_string(user_id);
      auto created = cal.create_managed_user(nu);
      if (!created) {
        failure = created.error();
      } else {
        cal_user = created->first;
        tokens = created->second;
      }
    }
    if (failure) {
      tx.exec("UPDATE CalendarIntegration SET status = IF(status = 'active', 'active', 'error'), last_error = ? "
              "WHERE user_id = ?",
              {(failure->code + ": " + failure->message).substr(0, 500), user_id});
      return;  // commit the pending row and its error; no tokens were stored
    }
    tx.exec("UPDATE CalendarIntegration SET provider = 'cal_managed', cal_user_id = ?, cal_username = ?, "
            "cal_email = ?, time_zone = ?, default_schedule_id = ? WHERE user_id = ?",
            {cal_user->id, cal_user->username, cal_user->email, cal_user->time_zone,
             cal_user->default_schedule_id ? db::Param(cal_user->default_schedule_id) : db::null(), user_id});
    store_tokens(cfg, tx, user_id, tokens, false);
    tx.exec("UPDATE users SET role = IF(role = 'admin', 'admin', 'coach') WHERE id = ?", {user_id});
    tx.exec("INSERT IGNORE INTO coach_profiles (user_id) VALUES (?)", {user_id});
    result = from_row(cfg, *tx.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id}));
  });
  if (failure) return *failure;
  log::info("coach onboarded", {{"user_id", std::to_string(user_id)}, {"cal_user_id", std::to_string(result->cal_user_id)}});
  return *result;
}

Result<RefreshOutcome> refresh_tokens(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                      RefreshMode mode, const std::string& stale_access_token) {
  std::optional<Error> failure;
  RefreshOutcome out;
  db.transaction([&](db::Db& tx) {
    failure.reset();
    auto row = tx.query_one(std::string(kSelect) + "WHERE user_id = ? FOR UPDATE", {user_id});
    if (!row) {
      failure = make_error(404, "not_connected", "This coach has no Cal.com integration yet");
      return;
    }
    Secrets sec;
    out.before = from_row(cfg, *row, &sec);
    out.after = out.before;
    if (out.before.status == "disconnected") {
      failure = make_error(409, "disconnected", "The Cal.com integration is disconnected");
      return;
    }
    const int64_t now = calcom::now_ms();
    if (!stale_access_token.empty() && out.before.has_tokens && sec.access != stale_access_token) {
      out.how = "refreshed-by-other";
      return;
    }
    if (mode == RefreshMode::if_needed && stale_access_token.empty() && out.before.has_tokens &&
        out.before.access_expires_at_ms - now > int64_t(cfg.token_refresh_margin_s) * 1000) {
      out.how = "already-fresh";
      return;
    }
    Result<calcom::Tokens> t = make_error(500, "internal_error", "no refresh attempted");
    if (mode == RefreshMode::force_new && out.before.provider != "cal_managed") {
      failure = make_error(400, "not_managed", "Force-refresh is only for Cal.com managed users");
      return;
    }
    if (out.before.has_tokens && mode != RefreshMode::force_new) {
      t = out.before.provider == "cal_oauth2" ? cal.oauth2_refresh(sec.refresh) : cal.refresh(sec.refresh);
      out.how = "rotated";
    }
    if (!t && out.before.provider == "cal_managed" && out.before.cal_user_id > 0 &&
        (!out.before.has_tokens || mode == RefreshMode::force_new || t.error().code == "cal_bad_request" || t.error().code == "cal_unauthorized")) {
      // The refresh token is gone or was rejected (rotation lost, revoked):
      // force-refresh mints a new pair from our client credentials.
      if (mode != RefreshMode::force_new)
        log::warn("refresh token rejected; using force-refresh", {{"user_id", std::to_string(user_id)}});
      t = cal.force_refresh(out.before.cal_user_id);
      out.how = "force-refresh";
    }
    if (!t) {
      failure = t.error();
      record_error(tx, user_id, t.error());
      return;
    }
    store_tokens(cfg, tx, user_id, *t, true);
    out.after = from_row(cfg, *tx.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id}));
  });
  if (failure) return *failure;
  return out;
}

Result<std::string> access_token(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id) {
  auto row = db.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id});
  if (!row) return make_error(404, "not_connected", "This coach has no Cal.com integration yet");
  Secrets sec;
  Integration i = from_row(cfg, *row, &sec);
  if (i.has_tokens && i.access_expires_at_ms - calcom::now_ms() > int64_t(cfg.token_refresh_margin_s) * 1000)
    return sec.access;
  auto r = refresh_tokens(cfg, db, cal, user_id, RefreshMode::if_needed);
  if (!r) return r.error();
  auto again = db.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id});
  Secrets sec2;
  from_row(cfg, *again, &sec2);
  if (sec2.access.empty()) return make_error(502, "cal_no_token", "No usable Cal.com token for this coach");
  return sec2.access;
}

Result<Json::Value> call_as_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                  const std::string& method, const std::string& path, const Json::Value* body,
                                  const std::string& api_version) {
  auto tok = access_token(cfg, db, cal, user_id);
  if (!tok) return tok.error();
  auto r = cal.call(method, path, body, *tok, api_version);
  if (r || (r.error().code != "cal_token_expired" && r.error().code != "cal_unauthorized")) return r;
  auto ref = refresh_tokens(cfg, db, cal, user_id, RefreshMode::if_needed, *tok);
  if (!ref) return ref.error();
  auto tok2 = access_token(cfg, db, cal, user_id);
  if (!tok2) return tok2.error();
  return cal.call(method, path, body, *tok2, api_version);
}

std::string oauth2_redirect_uri(const Config& cfg) { return cfg.public_base_url + "/api/cal/oauth/callback"; }

Result<std::string> start_oauth2(const Config& cfg, db::Db& db, const calcom::Client& cal, int64_t user_id) {
  std::string state = crypto::random_hex(32);
  db.exec("DELETE FROM oauth_states WHERE expires_at < CURRENT_TIMESTAMP(3) - INTERVAL 1 DAY");
  db.exec("INSERT INTO oauth_states (state, user_id, expires_at) VALUES (?, ?, CURRENT_TIMESTAMP(3) + INTERVAL 10 MINUTE)",
          {state, user_id});
  return cal.oauth2_authorize_url(cfg.cal_oauth2_authorize_url, oauth2_redirect_uri(cfg), state);
}

Result<Integration> finish_oauth2(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                  const std::string& state, const std::string& code) {
  if (state.size() != 64) return make_error(400, "invalid_state", "The OAuth state is missing or malformed");
  if (code.empty() || code.size() > 2048) return make_error(400, "missing_code", "The OAuth code is missing");
  // Claim the state first (single use), in its own transaction.
  std::optional<Error> failure;
  db.transaction([&](db::Db& tx) {
    failure.reset();
    auto st = tx.query_one("SELECT user_id, used_at IS NOT NULL AS used, expires_at < CURRENT_TIMESTAMP(3) AS expired "
                           "FROM oauth_states WHERE state = ? FOR UPDATE", {state});
    if (!st) failure = make_error(400, "invalid_state", "Unknown OAuth state; start the connection again");
    else if (st->i64("used")) failure = make_error(400, "invalid_state", "This OAuth state was already used");
    else if (st->i64("expired")) failure = make_error(400, "invalid_state", "This OAuth state has expired; start again");
    else if (st->i64("user_id") != user_id) failure = make_error(403, "state_mismatch", "This OAuth flow was started by another user");
    else tx.exec("UPDATE oauth_states SET used_at = CURRENT_TIMESTAMP(3) WHERE state = ?", {state});
  });
  if (failure) return *failure;
  auto tokens = cal.oauth2_exchange_code(code, oauth2_redirect_uri(cfg));
  if (!tokens) return tokens.error();
  auto me = cal.me(tokens->access_token);
  if (!me) return me.error();
  auto u = calcom::parse_user(*me);
  if (!u) return u.error();
  std::optional<Integration> result;
  db.transaction([&](db::Db& tx) {
    failure.reset();
    auto existing = tx.query_one("SELECT id FROM CalendarIntegration WHERE user_id = ? FOR UPDATE", {user_id});
    auto other = tx.query_one("SELECT user_id FROM CalendarIntegration WHERE provider = 'cal_oauth2' AND cal_user_id = ? AND user_id <> ?",
                              {u->id, user_id});
    if (other) {
      failure = make_error(409, "already_linked", "This Cal.com account is already connected to another user");
      return;
    }
    if (!existing)
      tx.exec("INSERT INTO CalendarIntegration (user_id, provider, status) VALUES (?, 'cal_oauth2', 'pending')", {user_id});
    tx.exec("UPDATE CalendarIntegration SET provider = 'cal_oauth2', cal_user_id = ?, cal_username = ?, cal_email = ?, "
            "time_zone = ?, default_schedule_id = ? WHERE user_id = ?",
            {u->id, u->username, u->email, u->time_zone,
             u->default_schedule_id ? db::Param(u->default_schedule_id) : db::null(), user_id});
    store_tokens(cfg, tx, user_id, *tokens, false);
    tx.exec("UPDATE users SET role = IF(role = 'admin', 'admin', 'coach') WHERE id = ?", {user_id});
    tx.exec("INSERT IGNORE INTO coach_profiles (user_id) VALUES (?)", {user_id});
    result = from_row(cfg, *tx.query_one(std::string(kSelect) + "WHERE user_id = ?", {user_id}));
  });
  if (failure) return *failure;
  return *result;
}

}  // namespace coach::integration
