/* zoom_client.hpp: typed calls to Zoom (reference §2, layer 3): the
 * Server-to-Server OAuth token (POST zoom-oauth-token-url with
 * grant_type=account_credentials and account_id, Basic client_id:secret) and
 * the REST API under zoom-api-base-url (".../v2"): create, get, update and
 * delete meetings. Knows nothing about our database or product; the token
 * cache lives in lib/meetings. Every call can be recorded, secrets masked, so
 * the test page can show the raw exchange. */
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <json/json.h>

#include "config.hpp"
#include "result.hpp"

namespace coach::zoom {

/* One HTTP exchange, already masked (tokens, start_url's zak): safe to render. */
struct Exchange {
  std::string method, url;
  long status = 0;
  std::string request_body, response_body, transport_error;
  double elapsed_ms = 0;
};

struct Settings {
  std::string api_base_url;    // https://api.zoom.us/v2
  std::string oauth_token_url; // https://zoom.us/oauth/token
  std::string account_id, client_id, client_secret;
  long timeout_ms = 10000;
};
Settings settings_from(const Config& cfg);
/* True when every Zoom key is set (Zoom is optional until zoom-api-base-url is). */
bool configured(const Settings& s);

struct Token {
  std::string access_token;
  int64_t expires_in_s = 0;
  std::string scope, api_url;
};

/* Error codes (Error::code) and the status our API answers with:
 *   zoom_not_configured 503, zoom_unreachable 502 (transport),
 *   zoom_auth_failed 502 (token endpoint refused our credentials),
 *   zoom_token_invalid 401 (code 124: expired/unknown token; refresh + retry),
 *   zoom_not_found 404 (3001 meeting, 1001 user), zoom_bad_request 400 (300,
 *   4711 and other 4xx), zoom_rate_limited 429->502, zoom_unavailable 502 (5xx),
 *   zoom_bad_response 502 (unparseable success body).
 * The message carries Zoom's own message and code where it gave one. */
class Client {
 public:
  explicit Client(Settings s, std::vector<Exchange>* recorder = nullptr);

  /* POST oauth_token_url?grant_type=account_credentials&account_id=... */
  Result<Token> fetch_token();

  /* One REST call with the bearer token; path is relative to api_base_url
   * ("/users/me/meetings"). 2xx: the parsed body ({} for 204). */
  Result<Json::Value> call(const std::string& method, const std::string& path, const Json::Value* body,
                           const std::string& access_token);

  const Settings& settings() const { return s_; }

 private:
  Settings s_;
  std::vector<Exchange>* rec_;
};

/* Meeting options we set (reference §2.3). */
struct MeetingSpec {
  std::string topic, start_time_utc /* YYYY-MM-DDTHH:MM:SSZ */, timezone, agenda;
  int duration_min = 30;
  bool waiting_room = true, join_before_host = false;
  std::string auto_recording = "none";  // none | local | cloud
};
/* Validates a spec (topic 1-200 chars, duration 1-1440, auto_recording one
 * of none/local/cloud, start time shape): 400 invalid_field naming the field. */
Status validate(const MeetingSpec& m);
/* The create body: type 2 (scheduled) with the settings above. */
Json::Value create_body(const MeetingSpec& m);

/* What we keep of a meeting object (create/get response). id accepts a
 * number or a numeric string (webhooks send strings). */
struct Meeting {
  int64_t id = 0;
  std::string uuid, host_id, topic, status, start_time, timezone, agenda, join_url, start_url, password;
  int duration_min = 0;
  bool waiting_room = false, join_before_host = false;
  std::string auto_recording;
};
Result<Meeting> parse_meeting(const Json::Value& v);
/* A meeting id from JSON (int64 or a string of digits); 0 when absent/bad. */
int64_t meeting_id_of(const Json::Value& v);

/* "https://host/..." with a host of zoom.us or *.zoom.us. */
bool is_zoom_url(const std::string& url);

}  // namespace coach::zoom
