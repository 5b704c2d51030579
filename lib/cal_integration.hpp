/* cal_integration.hpp: a coach's Cal.com account in our database: onboarding
 * (create the managed user exactly once), tokens encrypted at rest, refresh
 * before expiry and on 401/498 serialized on the CalendarIntegration row so a
 * rotated refresh token is never burned by two processes at once, and the
 * OAuth2 connection of an existing Cal.com account. */
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "result.hpp"

namespace coach::integration {

/* What we may show about an integration: never the tokens themselves. */
struct Integration {
  int64_t id = 0, user_id = 0;
  std::string provider, status;
  int64_t cal_user_id = 0;
  std::string cal_username, cal_email, time_zone;
  int64_t default_schedule_id = 0;
  int64_t access_expires_at_ms = 0, refresh_expires_at_ms = 0;
  int64_t token_version = 0, refresh_count = 0;
  std::string last_refreshed_at, last_error, created_at, updated_at;
  bool has_tokens = false;
  std::string access_token_masked, refresh_token_masked;  // e.g. "eyJh…k3Zq (212 chars)"
};

std::optional<Integration> find_by_user(const Config& cfg, db::Db& db, int64_t user_id);
std::vector<Integration> list_all(const Config& cfg, db::Db& db);
Json::Value to_json(const Integration& i);

/* Creates the coach's managed user once and stores it. Safe to retry and to
 * run concurrently: it locks the user row, reuses an active integration, and
 * if an earlier attempt created the Cal.com user but did not store it, finds
 * it by e-mail and recovers its tokens with force-refresh instead of creating
 * a second one. Promotes the user to role coach. Errors: 404 unknown_user,
 * cal_* from Cal.com (nothing half-written: the row stays pending with
 * last_error). */
Result<Integration> onboard_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id);

/* if_needed: keep a token valid beyond the margin; rotate: always use the
 * refresh token (rotation); force_new: managed users only, mint a new pair
 * with client credentials (force-refresh), invalidating all earlier tokens. */
enum class RefreshMode { if_needed, rotate, force_new };

struct RefreshOutcome {
  Integration before, after;
  std::string how;  // "rotated", "force-refresh", "already-fresh", "refreshed-by-other"
};

/* Refreshes the coach's tokens under a row lock. With if_needed, a token that
 * is still valid for more than the configured margin is kept. When
 * stale_access_token is given (a call just failed with it) and the stored
 * token differs, another process already refreshed: nothing is done. A
 * rejected refresh token (rotation lost, revoked) falls back to force-refresh
 * for managed users. */
Result<RefreshOutcome> refresh_tokens(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                      RefreshMode mode, const std::string& stale_access_token = "");

/* A usable access token for the coach (refreshing first when needed). */
Result<std::string> access_token(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id);

/* Calls Cal.com as the coach; on 401/498 refreshes once and retries once. */
Result<Json::Value> call_as_coach(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                  const std::string& method, const std::string& path, const Json::Value* body,
                                  const std::string& api_version = "");

/* OAuth2 connection of an existing Cal.com account: a single-use state tied
 * to the signed-in user, valid 10 minutes. */
Result<std::string> start_oauth2(const Config& cfg, db::Db& db, const calcom::Client& cal, int64_t user_id);
Result<Integration> finish_oauth2(const Config& cfg, db::Db& db, calcom::Client& cal, int64_t user_id,
                                  const std::string& state, const std::string& code);
std::string oauth2_redirect_uri(const Config& cfg);

}  // namespace coach::integration
