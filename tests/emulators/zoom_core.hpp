/* zoom_core.hpp: shared pieces of the Zoom emulator (reference
 * payments-zoom-auth-email.md §2 and §5.2): the start-up Config, the in-memory
 * State behind one mutex, the Call/Reply values handlers take and return,
 * Zoom's error bodies ({"code":N,"message":...} for /v2, {"reason","error"}
 * for /oauth/token), and small time, id and JSON helpers.
 *
 * Header-only: the Makefile builds one binary per .cpp in tests/emulators/,
 * so zoom_emulator.cpp includes the zoom_*.hpp headers; everything is inline. */
#pragma once
#include <httplib.h>
#include <json/json.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto.hpp"
#include "emu_common.hpp"
#include "json_util.hpp"
#include "slot_engine.hpp"

namespace zoom_emu {

using emu::parse_int64;
using emu::random_base62;
using emu::real_now_ms;
using emu::starts_with;
using emu::to_lower;

/* ---------------------------------------------------------------- config */

/* A user of the emulated account: the owner ("me") or one added by --user. */
struct User {
  std::string id;                      // 22 characters, like Zoom's user ids
  std::string email;
  std::string first_name, last_name;
  std::string timezone = "UTC";
  int64_t pmi = 0;
  bool is_owner = false;
};

/* Read once from the command line (parse_flags in zoom_emulator.cpp). */
struct Config {
  std::string host = "127.0.0.1";
  int port = 0;                        // 0 = any free port (printed at start-up)
  std::string public_url;              // base of join_url/start_url/api_url; default http://host:port
  int n_threads = 16;
  std::string account_id, client_id, client_secret;
  std::string owner_email = "owner@zoom-emulator.test";
  std::vector<std::string> user_emails;  // --user, repeatable
  int64_t token_ttl_s = 3599;
  std::vector<std::string> scopes = {"meeting:write:meeting:admin", "meeting:read:meeting:admin",
                                     "meeting:update:meeting:admin", "meeting:delete:meeting:admin",
                                     "meeting:read:list_meetings:admin", "user:read:user:admin"};
  int invalid_client_status = 400;     // some report 401 (reference §6)
  // Webhooks.
  std::string webhook_url;             // "" = no primary endpoint
  std::string webhook_secret;
  std::set<std::string> events;        // subscribed events of the primary endpoint
  int64_t delivery_timeout_ms = 3000;  // a reply counts only when 200/204 within this
  double time_compression = 1.0;       // retry delays (5 min, 20 min, 60 min) are divided by this
  bool validate_on_start = true;
  int rate_limit_per_s = 0;            // 0 = off; /v2 requests per second per account
};

inline const std::vector<std::string>& all_events() {
  static const std::vector<std::string> v = {
      "meeting.created", "meeting.updated", "meeting.deleted", "meeting.started",
      "meeting.ended", "meeting.participant_joined", "meeting.participant_left"};
  return v;
}

/* ----------------------------------------------------------------- state */

struct Token {
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;              // emulator clock
  std::set<std::string> scopes;
};

struct Participant {
  std::string user_id;                 // per-meeting participant id ("16778240")
  std::string user_name, email;
  std::string id;                      // Zoom user id when signed in, else ""
  std::string participant_uuid;
  std::string participant_user_id;
  int64_t join_ms = 0;
};

/* One meeting. `obj` holds the stored request fields in output form (topic,
 * type, start_time, duration, timezone, agenda, password, settings...). */
struct Meeting {
  int64_t id = 0;
  std::string uuid;                    // the meeting's (first instance's) uuid
  std::string instance_uuid;           // uuid of the current / last instance
  std::string host_id;
  std::string host_email;
  std::string status = "waiting";      // waiting, started
  bool deleted = false;
  int n_ended = 0;
  int64_t created_ms = 0;
  int64_t started_ms = 0;              // actual start of the current instance
  std::string encrypted_password;
  std::string h323_password;
  Json::Value obj = Json::Value(Json::objectValue);
  std::vector<Participant> present;    // joined and not left
  std::map<std::string, int64_t> zaks; // start_url ZAK -> expiry (emulator ms)
  int64_t next_participant = 16778240;
};

/* A webhook endpoint: the primary one from the flags, or one added through
 * /_emulator/webhook-endpoints. */
struct Endpoint {
  std::string id;
  std::string url, secret;
  std::set<std::string> events;
  std::string validation = "pending";  // pending, validated, failed
  std::string validation_error;
  int64_t validated_at_ms = 0;         // emulator clock
  int n_validation_attempts = 0;
  int64_t last_validation_real_ms = 0;
  bool primary = false;
};

/* A delivery waiting in the queue (first try or retry). */
struct QueuedEvent {
  int64_t event_seq = 0;
  std::string endpoint_id;
  std::string event;
  std::string body;                    // exact bytes; the same on every retry
  int attempt = 1;                     // 1 = first try, 2..4 = retries
  int64_t due_real_ms = 0;
  uint64_t epoch = 0;
};

/* One HTTP attempt (event or URL validation) in the log. */
struct Delivery {
  int64_t seq = 0;
  int64_t event_seq = 0;               // 0 for validations
  std::string kind;                    // "event" or "validation"
  std::string event;
  std::string endpoint_id, url;
  int attempt = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int status = 0;                      // 0 = no response
  std::string response_body;
  std::string outcome;                 // ok, failed
  std::string error;
  int64_t at_ms = 0;                   // emulator clock
  int64_t duration_ms = 0;
};

/* Fault injection: the next `remaining` requests whose path starts with the
 * prefix (and method matches, when set) wait delay_ms and then answer
 * `status`, or lose their connection (drop). */
struct Fault {
  int64_t id = 0;
  std::string path_prefix, method;
  int status = 0;
  bool drop = false;
  int remaining = 1;
  int64_t delay_ms = 0;
  int retry_after_s = -1;              // 429: Retry-After header when >= 0
};

struct Counters {
  int64_t n_requests = 0;              // non-control requests
  int64_t n_token_requests = 0;
  int64_t n_tokens_issued = 0;
  int64_t n_token_errors = 0;
  int64_t n_unauthorized = 0;          // 401 code 124
  int64_t n_missing_scope = 0;         // 400 code 4711
  int64_t n_validation_errors = 0;     // 400 code 300
  int64_t n_not_found = 0;             // 404 codes 1001 / 3001
  int64_t n_faults_fired = 0;
  int64_t n_connections_dropped = 0;
  int64_t n_throttled = 0;
  int64_t n_meetings_created = 0, n_meetings_updated = 0, n_meetings_deleted = 0;
  int64_t n_deliveries_ok = 0, n_deliveries_failed = 0, n_events_given_up = 0;
  int64_t n_validations_ok = 0, n_validations_failed = 0;
};

struct State {
  std::mutex mu;
  std::vector<User> users;             // [0] is the owner
  std::map<std::string, Token> tokens;
  std::map<int64_t, Meeting> meetings;
  std::vector<Endpoint> endpoints;
  int64_t next_endpoint = 1;
  std::vector<QueuedEvent> queue;
  std::deque<Delivery> deliveries;     // oldest first, at most k_max_deliveries
  int64_t next_delivery_seq = 1;
  int64_t next_event_seq = 1;
  std::vector<Fault> faults;
  int64_t next_fault_id = 1;
  Counters counters;
  int64_t token_ttl_s = 3599;          // for new tokens (/_emulator/token-ttl)
  std::set<std::string> scopes;        // for new tokens (/_emulator/scopes)
  int64_t clock_offset_ms = 0;
  int64_t rate_window_s = 0;
  int rate_used = 0;
  std::string jwt_key;
  uint64_t epoch = 1;                  // moves on reset: queued work of before is dropped
  std::condition_variable cv;          // wakes the delivery worker
  bool stop = false;
  std::atomic<int> in_flight{0};
};

inline constexpr size_t k_max_deliveries = 1000;

/* ------------------------------------------------------------------ time */

/* The emulator clock: real time plus the /_emulator/clock offset. Token
 * expiry, created_at, event_ts and webhook timestamps all read it.
 * Precondition: st.mu held (or no other threads). */
inline int64_t emu_now_ms(const State& st) { return real_now_ms() + st.clock_offset_ms; }

/* "2025-03-10T15:00:00Z" (Zoom prints whole seconds). */
inline std::string iso_utc(int64_t ms) {
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

/* Parses Zoom's start_time: "yyyy-MM-ddTHH:mm:ss" with optional ".fff" and an
 * optional trailing "Z". With "Z" the instant is UTC; without, it is wall
 * time in `zone` (the request's timezone, else the host's). Returns epoch
 * ms, or nullopt when malformed or the zone is unknown. */
inline std::optional<int64_t> parse_start_time(const std::string& s, const std::string& zone) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') { ++i; ++digits; }
    if (digits == 0 || digits > 9) return std::nullopt;
  }
  bool utc = false;
  if (i < s.size() && s[i] == 'Z') { utc = true; ++i; }
  if (i != s.size()) return std::nullopt;
  const int hh = std::stoi(s.substr(11, 2)), mm = std::stoi(s.substr(14, 2)), ss = std::stoi(s.substr(17, 2));
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  auto t = coach::slots::local_to_utc(s.substr(0, 10), hh * 60 + mm, utc ? "UTC" : zone);
  if (!t) return std::nullopt;  // bad calendar date or unknown zone
  return (static_cast<int64_t>(t->time_since_epoch().count()) + ss) * 1000;
}

/* ------------------------------------------------------------- ids, text */

inline std::string random_from(const char* alphabet, size_t n_alpha, size_t n) {
  std::string bytes = coach::crypto::random_bytes(n);
  std::string out;
  for (unsigned char b : bytes) out.push_back(alphabet[b % n_alpha]);
  return out;
}
inline std::string random_digits(size_t n) { return random_from("0123456789", 10, n); }

/* A 22-character user id like "KDcuGIm1QgePTO8WbOqwIQ" (base64url of 16 bytes). */
inline std::string random_user_id() {
  return coach::crypto::base64url_encode(coach::crypto::random_bytes(16)).substr(0, 22);
}

/* A meeting instance uuid like "4444AAAiAAAAAiAiAiiAii==" (base64 of 16 bytes). */
inline std::string random_meeting_uuid() { return coach::crypto::base64_encode(coach::crypto::random_bytes(16)); }

/* A JSON number with no fractional part, within int64. */
inline bool json_int(const Json::Value& v, int64_t& out) {
  if (v.isInt64()) { out = v.asInt64(); return true; }
  if (v.isUInt64()) return false;  // above int64
  if (v.isDouble()) {
    const double d = v.asDouble();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9e15 && d < 9e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

inline bool is_http_url(const std::string& s) {
  std::string rest;
  if (starts_with(s, "https://")) rest = s.substr(8);
  else if (starts_with(s, "http://")) rest = s.substr(7);
  else return false;
  if (rest.empty() || rest[0] == '/' || rest[0] == '?') return false;
  for (unsigned char ch : s) if (ch <= ' ' || ch >= 0x7f) return false;
  return true;
}

/* ------------------------------------------------------- call and reply */

struct Reply {
  int status = 200;
  std::string content_type = "application/json;charset=UTF-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool drop_connection = false;        // fault: close the socket without an answer
};

/* One request as a handler sees it. `params` are the route's captures. */
struct Call {
  const httplib::Request& req;
  std::vector<std::string> params;
  State& st;
  const Config& cfg;
  const std::string& base_url;         // the emulator's public base, no trailing '/'
  int64_t now_ms = 0;                  // emulator clock, read under the lock
  bool wake_worker = false;            // a delivery was queued

  std::string header(const char* name) const { return req.get_header_value(name); }
};

inline Reply json_reply(int status, const Json::Value& v) {
  Reply r;
  r.status = status;
  r.body = coach::json::write(v);
  return r;
}

inline Reply empty_reply(int status) {
  Reply r;
  r.status = status;
  r.content_type.clear();
  return r;
}

/* Zoom's REST error body {"code":N,"message":"..."}. */
inline Reply zoom_error(int status, int code, const std::string& message) {
  Json::Value j(Json::objectValue);
  j["code"] = code;
  j["message"] = message;
  return json_reply(status, j);
}

/* 400 code 300 "Validation Failed." with errors[{field,message}]. */
inline Reply validation_failed(const Json::Value& errors) {
  Json::Value j(Json::objectValue);
  j["code"] = 300;
  j["message"] = "Validation Failed.";
  j["errors"] = errors;
  return json_reply(400, j);
}

/* The token endpoint's error body {"reason":"...","error":"..."}. */
inline Reply oauth_error(int status, const std::string& error, const std::string& reason) {
  Json::Value j(Json::objectValue);
  j["reason"] = reason;
  j["error"] = error;
  return json_reply(status, j);
}

/* A new user of the account (the n-th; the owner is 0). */
inline User make_user(const std::string& email, bool owner, size_t n) {
  User u;
  u.id = random_user_id();
  u.email = email;
  std::string local = email.substr(0, email.find('@'));
  u.first_name = owner ? "Account" : "User";
  u.last_name = owner ? "Owner" : std::to_string(n);
  if (!local.empty()) u.first_name = local;
  u.pmi = 1000000000LL + static_cast<int64_t>(std::stoll(random_digits(9)));
  u.is_owner = owner;
  return u;
}

/* The users of a fresh emulator: the owner, then --user addresses in order. */
inline std::vector<User> initial_users(const Config& cfg) {
  std::vector<User> users;
  users.push_back(make_user(cfg.owner_email, true, 0));
  size_t n = 1;
  for (const auto& e : cfg.user_emails) users.push_back(make_user(e, false, n++));
  return users;
}

inline Endpoint primary_endpoint(const Config& cfg) {
  Endpoint e;
  e.id = "primary";
  e.url = cfg.webhook_url;
  e.secret = cfg.webhook_secret;
  e.events = cfg.events;
  e.primary = true;
  return e;
}

/* Back to the start-up state (users keep their ids). Precondition: st.mu held. */
inline void reset_state(State& st, const Config& cfg) {
  st.tokens.clear();
  st.meetings.clear();
  st.endpoints.clear();
  if (!cfg.webhook_url.empty()) st.endpoints.push_back(primary_endpoint(cfg));
  st.next_endpoint = 1;
  st.queue.clear();
  st.deliveries.clear();
  st.faults.clear();
  st.counters = Counters{};
  st.token_ttl_s = cfg.token_ttl_s;
  st.scopes = std::set<std::string>(cfg.scopes.begin(), cfg.scopes.end());
  st.clock_offset_ms = 0;
  st.rate_window_s = 0;
  st.rate_used = 0;
  st.epoch++;
}

}  // namespace zoom_emu
