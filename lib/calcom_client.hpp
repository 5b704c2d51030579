/* calcom_client.hpp: typed calls to the Cal.com Platform API v2 (managed users,
 * token refresh, /v2/me, the standard OAuth2 token endpoint). Knows nothing
 * about our product or database. Every call can be recorded (secrets masked)
 * so the test pages can show the raw exchange. */
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <json/json.h>

#include "config.hpp"
#include "result.hpp"

namespace coach::calcom {

/* One HTTP exchange, already masked: safe to render. */
struct Exchange {
  std::string method, url;
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::string request_body;
  long status = 0;
  std::string response_body;
  double elapsed_ms = 0;
  std::string transport_error;
};

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t access_expires_at_ms = 0;
  int64_t refresh_expires_at_ms = 0;
};

struct ManagedUser {
  int64_t id = 0;
  std::string email, username, name, time_zone;
  int64_t default_schedule_id = 0;   // 0 = none
  Json::Value raw;
};

struct NewManagedUser {
  std::string email, name, time_zone;  // time_zone may be empty (then no default schedule)
  Json::Value metadata;                 // object or null
};

/* Error codes from calls (Error::code), with the status our API should answer:
 *   cal_unreachable 502 (transport), cal_unavailable 502 (5xx/429),
 *   cal_token_expired 401 (498), cal_unauthorized 401, cal_forbidden 403,
 *   cal_not_found 404, cal_conflict 409, cal_bad_request 400 (4xx others),
 *   cal_bad_response 502 (unparseable success body). The message carries
 *   Cal.com's own message where it gave one. */
struct Settings {
  std::string base_url;          // https://api.cal.com (no /v2)
  std::string client_id, client_secret;
  std::string oauth2_client_id, oauth2_client_secret;
  long timeout_ms = 10000;
};
Settings settings_from(const Config& cfg);

class Client {
 public:
  explicit Client(Settings s, std::vector<Exchange>* recorder = nullptr);

  Result<std::pair<ManagedUser, Tokens>> create_managed_user(const NewManagedUser& u);
  Result<std::vector<ManagedUser>> list_managed_users(int limit, int offset,
                                                      const std::vector<std::string>& emails = {});
  Result<ManagedUser> get_managed_user(int64_t cal_user_id);
  Result<ManagedUser> update_managed_user(int64_t cal_user_id, const Json::Value& patch);
  Status delete_managed_user(int64_t cal_user_id);
  Result<Tokens> force_refresh(int64_t cal_user_id);
  /* Refresh-token rotation: the presented refresh token stops working. */
  Result<Tokens> refresh(const std::string& refresh_token);

  /* GET /v2/me with a Bearer token (managed-user or OAuth2 token). */
  Result<Json::Value> me(const std::string& access_token);

  /* Standard OAuth2 (connect an existing account). */
  std::string oauth2_authorize_url(const std::string& authorize_base, const std::string& redirect_uri,
                                   const std::string& state) const;
  Result<Tokens> oauth2_exchange_code(const std::string& code, const std::string& redirect_uri);
  Result<Tokens> oauth2_refresh(const std::string& refresh_token);

  /* Generic call for the other families (schedules, event types, bookings...):
   * path starts with /v2; bearer may be empty; api_version sets cal-api-version.
   * Returns the parsed body (the whole envelope) on 2xx. */
  Result<Json::Value> call(const std::string& method, const std::string& path, const Json::Value* body,
                           const std::string& bearer, const std::string& api_version = "",
                           bool client_credentials = false);

 private:
  Result<Json::Value> send(const std::string& method, const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body, const std::string& content_type);
  Settings s_;
  std::vector<Exchange>* rec_;
};

/* Parses {accessToken, refreshToken, accessTokenExpiresAt, refreshTokenExpiresAt}
 * (Cal.com platform shape) or {access_token, refresh_token, expires_in} (OAuth2). */
Result<Tokens> parse_tokens(const Json::Value& data, int64_t now_ms);
Result<ManagedUser> parse_user(const Json::Value& u);

int64_t now_ms();

}  // namespace coach::calcom
