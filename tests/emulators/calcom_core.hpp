/* calcom_core.hpp: shared pieces of the Cal.com API v2 emulator: the start-up
 * Config, the in-memory State behind one mutex, the Call/Reply values that
 * route handlers take and return, the success and error envelopes, and small
 * JSON, URL, HTML, time and time-zone helpers.
 *
 * Header-only on purpose: the Makefile builds one binary per .cpp file in
 * tests/emulators/, so the emulator is one translation unit (calcom_emulator.cpp)
 * that includes the calcom_*.hpp headers. Everything here is `inline`. */
#pragma once
#include "html.hpp"
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
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto.hpp"
#include "emu_common.hpp"

namespace calcom_emu {

using emu::parse_form;
using emu::parse_int64;
using emu::random_base62;
using emu::real_now_ms;
using emu::starts_with;
using emu::to_lower;
using emu::url_decode;
using emu::url_encode;

/* ---------------------------------------------------------------- config */

/* Read once from the command line (see parse_flags in calcom_emulator.cpp). */
struct Config {
  std::string host = "127.0.0.1";
  int port = 0;                        // 0 = any free port (printed at start-up)
  int n_threads = 32;
  // The platform OAuth client (managed users).
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> redirect_uris;  // also the allowed Origin prefixes
  int64_t access_ttl_s = 3600;
  int64_t refresh_ttl_s = 365LL * 24 * 3600;
  bool has_organization = true;        // false: creating managed users -> 400
  int64_t organization_id = 1;
  // The standard OAuth2 client (connecting an existing Cal.com account).
  std::string oauth2_client_id;
  std::string oauth2_client_secret;
  std::string oauth2_redirect_uri;
  int64_t oauth2_access_ttl_s = 1800;
  int64_t oauth2_refresh_ttl_s = 30LL * 24 * 3600;
  int64_t auth_code_ttl_s = 600;
  int rate_limit_per_min = 0;          // 0 = no throttling
};

/* ----------------------------------------------------------------- state */

/* A Cal.com user: a managed user of the platform client, the platform owner,
 * or a pre-seeded regular account reachable through standard OAuth2. Nullable
 * fields are Json::Value so null vs string is kept exactly. */
struct User {
  int64_t id = 0;
  std::string email;
  std::string username;
  Json::Value name;                    // string or null
  Json::Value bio;                     // string or null
  Json::Value avatar_url;              // string or null
  Json::Value locale;                  // string or null
  Json::Value metadata;                // object or null
  Json::Value default_schedule_id;     // integer or null
  std::string time_zone = "Europe/London";
  std::string week_start = "Sunday";
  int time_format = 12;
  std::string created_date;            // ISO-8601 UTC with milliseconds
  std::string oauth_client_id;         // "" unless a managed user
  bool is_platform_managed = false;
  int64_t organization_id = 0;         // 0 = no organisation
  bool is_platform_owner = false;      // who client credentials authenticate as
  // Conferencing apps the user has connected ("zoom", "google-meet", ...);
  // set through POST /_emulator/connect-app. "cal-video" is always available.
  std::set<std::string> connected_apps;
  // Per-user counters for /_emulator/state.
  int n_refresh_ok = 0;
  int n_force_refresh = 0;
};

struct Availability {
  std::vector<std::string> days;       // "Monday", ...
  std::string start_time;              // "09:00"
  std::string end_time;                // "17:00"
};

struct DateOverride {
  std::string date;                    // "2026-03-11", local date in the schedule's zone
  std::string start_time;              // "14:00"
  std::string end_time;                // "18:00"; equal to start_time: the day is off
};

/* A schedule (availability), as /v2/schedules stores it: each availability
 * rule and override exactly as sent (never merged). Whether it is the
 * owner's default is not stored here: it is User::default_schedule_id, so the
 * two can never disagree (see schedule_is_default). */
struct Schedule {
  int64_t id = 0;
  int64_t owner_id = 0;
  std::string name;
  std::string time_zone;
  std::vector<Availability> availability;
  std::vector<DateOverride> overrides;
};

/* An event type (/v2/event-types, 2024-06-14). `props` holds every stored
 * input property in its output form (title, slug, lengthInMinutes,
 * description, locations, bookingFields with the system fields, buffers,
 * limits, ...); the output is the defaults overlaid with props. */
struct EventType {
  int64_t id = 0;
  int64_t owner_id = 0;
  int64_t created_ms = 0;
  Json::Value props = Json::Value(Json::objectValue);
};

struct BookingAttendee {
  std::string name;
  std::string email;
  std::string time_zone;
  std::string language = "en";
  std::string phone;                   // "" = none
  bool absent = false;
};

/* A booking (/v2/bookings, 2024-08-13). Times are epoch ms (whole seconds).
 * status is the lower-case output value: accepted, pending, cancelled,
 * rejected. The event type's slug and buffers are copied at booking time so
 * a deleted event type leaves readable bookings behind. */
struct Booking {
  int64_t id = 0;
  std::string uid;
  int64_t event_type_id = 0;
  std::string event_type_slug;
  int64_t host_id = 0;
  std::string title;
  std::string description;
  std::string status = "accepted";
  int64_t start_ms = 0, end_ms = 0;
  int duration_min = 0;
  std::vector<BookingAttendee> attendees;
  std::vector<std::string> guests;
  std::string location;                // stored value: "integrations:zoom", a link, an address...
  std::string video_call_url;          // metadata.videoCallUrl ("" = none)
  Json::Value metadata = Json::Value(Json::objectValue);   // without videoCallUrl
  Json::Value responses = Json::Value(Json::objectValue);  // bookingFieldsResponses as stored
  std::string cancellation_reason;
  std::string cancelled_by_email;
  std::string rescheduling_reason;
  std::string rescheduled_by_email;
  std::string rescheduled_from_uid;
  std::string rescheduled_to_uid;
  bool rescheduled = false;            // the DB flag on a booking replaced by a reschedule
  bool absent_host = false;
  std::string ics_uid;
  int64_t created_ms = 0, updated_ms = 0;
};

/* A slot reservation (soft hold, /v2/slots/reservations). */
struct Reservation {
  std::string uid;
  int64_t event_type_id = 0;
  int64_t host_id = 0;
  int64_t slot_start_ms = 0, slot_end_ms = 0;
  int slot_duration_min = 0;
  int reservation_min = 5;
  int64_t until_ms = 0;                // releaseAt
  int64_t reserved_by_user_id = 0;     // 0 = anonymous
};

enum class TokenKind { access, refresh };
enum class TokenFamily { platform, oauth2 };  // managed-user tokens vs standard OAuth2

struct TokenRec {
  TokenKind kind = TokenKind::access;
  TokenFamily family = TokenFamily::platform;
  std::string client_id;
  int64_t user_id = 0;
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string scope;
};

/* A refresh token that was used (rotated), replaced by force-refresh, or whose
 * user was deleted. Presenting it again counts as a reuse. */
struct RetiredToken {
  TokenFamily family = TokenFamily::platform;
  int64_t user_id = 0;
  std::string reason;                  // "rotated", "force-refresh", "user-deleted"
};

struct AuthCode {
  std::string client_id;
  std::string redirect_uri;
  int64_t user_id = 0;
  std::string scope;
  std::string code_challenge;          // "" when the client did not use PKCE
  std::string code_challenge_method;
  int64_t expires_at_ms = 0;
};

/* Fault injection: the next `remaining` requests whose path starts with
 * path_prefix (and method matches, when set) are delayed by delay_ms and then
 * fail with `status`, or are handled normally when status is 0. */
struct Fault {
  int64_t id = 0;
  std::string path_prefix;
  std::string method;                  // "" = any
  int status = 0;
  int remaining = 1;
  int64_t delay_ms = 0;
};

/* A webhook subscription (/v2/webhooks, /v2/oauth-clients/{id}/webhooks,
 * /v2/event-types/{id}/webhooks). Exactly one of user_id, oauth_client_id,
 * event_type_id names its scope. secret / payload_template: string or null. */
struct Webhook {
  std::string id;                      // UUID string
  int64_t seq = 0;                     // creation order (lists)
  std::string scope;                   // "user", "oauth-client", "event-type"
  int64_t user_id = 0;
  std::string oauth_client_id;
  int64_t event_type_id = 0;
  std::string subscriber_url;
  bool active = true;
  std::vector<std::string> triggers;
  Json::Value payload_template;        // string or null
  Json::Value secret;                  // string or null
  std::string version = "2021-10-20";
  int64_t created_ms = 0;
  int64_t n_attempts = 0, n_ok = 0, n_failed = 0;  // HTTP sends, 2xx/3xx, the rest
};

/* A scheduled MEETING_STARTED / MEETING_ENDED delivery (Cal.com's
 * WebhookScheduledTriggers row): the body is stored when it is scheduled and
 * sent verbatim once the emulator clock reaches start_after_ms. */
struct WebhookJob {
  std::string webhook_id;
  std::string trigger;
  std::string booking_uid;
  int64_t start_after_ms = 0;
  std::string body;
};

/* One delivery ready to send: the exact bytes and headers. */
struct OutgoingWebhook {
  std::string webhook_id;
  std::string trigger;
  std::string booking_uid;
  std::string url;
  std::string body;
  std::string signature;               // X-Cal-Signature-256 value
  std::string content_type = "application/json";
  std::string mode = "normal";         // the fault mode applied
  uint64_t epoch = 0;                  // State::webhook_epoch when built
  int64_t redelivery_of = 0;           // delivery seq, for /_emulator/deliveries/redeliver
};

/* One entry of the delivery log (GET /_emulator/deliveries). */
struct DeliveryRecord {
  int64_t seq = 0;
  OutgoingWebhook out;
  std::string outcome;                 // delivered, http_error, network_error, dropped, failed, expired
  int status = 0;                      // HTTP status, 0 = no response
  std::string error;                   // "" when a response arrived
  int64_t attempt_ms = 0;              // emulator clock
  int64_t duration_ms = 0;
};

/* The fault switch of POST /_emulator/webhook-mode. */
struct WebhookMode {
  std::string mode = "normal";         // normal, drop, duplicate, delay, reorder, fail
  int remaining = 0;                   // deliveries the mode still applies to
  int reorder_batch = 0;               // reorder: how many are held before release
  int64_t delay_ms = 0;
  bool async = false;                  // deliver from the worker thread instead of before the reply
};

/* A delivery waiting in the worker's queue (delay mode, async delivery). */
struct QueuedWebhook {
  int64_t due_real_ms = 0;
  int64_t seq = 0;
  OutgoingWebhook out;
};

struct Counters {
  int64_t n_requests = 0;              // non-control requests
  int64_t n_refresh_calls = 0;
  int64_t n_refresh_ok = 0;
  int64_t n_refresh_reuse_rejections = 0;
  int64_t n_refresh_invalid_rejections = 0;
  int64_t n_force_refresh = 0;
  int64_t n_expired_token_rejections = 0;   // 498s
  int64_t n_invalid_token_rejections = 0;   // 401s on a bearer token
  int64_t n_oauth2_token_calls = 0;
  int64_t n_oauth2_code_exchanges = 0;
  int64_t n_oauth2_refresh_ok = 0;
  int64_t n_oauth2_refresh_reuse_rejections = 0;
  int64_t n_oauth2_errors = 0;
  int64_t n_faults_fired = 0;
  int64_t n_throttled = 0;
  int64_t n_slot_queries = 0;
  int64_t n_bookings_created = 0;
  int64_t n_bookings_rescheduled = 0;
  int64_t n_bookings_cancelled = 0;
  int64_t n_booking_conflicts = 0;          // 400 "not available" on create/reschedule
  int64_t n_reservation_conflicts = 0;      // 422s
  int64_t n_api_version_rejections = 0;
  int64_t n_webhook_attempts = 0;           // HTTP sends (redeliveries included)
  int64_t n_webhook_delivered = 0;          // answered 2xx/3xx
  int64_t n_webhook_http_errors = 0;        // answered 4xx/5xx (never retried)
  int64_t n_webhook_network_errors = 0;     // no answer (refused, timeout)
  int64_t n_webhook_dropped = 0;            // webhook-mode drop
  int64_t n_webhook_emulated_failures = 0;  // webhook-mode fail
  int64_t n_webhook_duplicated = 0;
  int64_t n_webhook_delayed = 0;
  int64_t n_webhook_reordered = 0;
  int64_t n_webhook_jobs_expired = 0;       // MEETING_* jobs older than a day, dropped unsent
  int64_t n_webhook_redeliveries = 0;
};

struct RateWindow {
  int64_t window_start_ms = 0;
  int n_used = 0;
};

/* All mutable emulator state. Every handler runs with `mu` held (the router
 * takes it), so handlers never lock themselves. */
struct State {
  std::mutex mu;
  std::map<int64_t, User> users;                 // ordered by id
  std::map<int64_t, Schedule> schedules;
  std::map<int64_t, EventType> event_types;
  std::map<int64_t, Booking> bookings;            // by id
  std::map<std::string, int64_t> booking_ids;     // uid -> id
  std::map<std::string, Reservation> reservations;  // by uid
  std::unordered_map<std::string, TokenRec> tokens;
  std::unordered_map<std::string, RetiredToken> retired_refresh;
  std::unordered_map<std::string, AuthCode> auth_codes;
  std::vector<Fault> faults;
  std::map<std::string, RateWindow> rate_windows;
  Counters counters;
  int64_t next_user_id = 1001;
  int64_t next_schedule_id = 201;
  int64_t next_event_type_id = 5501;
  int64_t next_booking_id = 88001;
  int64_t next_fault_id = 1;
  // The emulator clock (POST /_emulator/clock): real time + offset, or a
  // frozen instant. Every handler reads it through emulator_now().
  int64_t clock_offset_ms = 0;
  bool clock_frozen = false;
  int64_t clock_frozen_ms = 0;
  std::string jwt_key;                           // HS256 key of this process
  // Webhooks (calcom_webhooks.hpp). Deliveries are built under `mu` and sent
  // without it; webhook_epoch moves on every reset so that a delivery built
  // before a reset is neither sent nor logged after it.
  std::map<std::string, Webhook> webhooks;       // by id
  int64_t next_webhook_seq = 1;
  std::vector<WebhookJob> webhook_jobs;          // scheduled MEETING_* deliveries
  std::deque<DeliveryRecord> deliveries;         // the log, newest first, at most 500
  int64_t next_delivery_seq = 1;
  WebhookMode webhook_mode;
  std::vector<OutgoingWebhook> webhook_held;     // reorder: held, released in reverse
  std::vector<QueuedWebhook> webhook_queue;      // the worker's queue (delay, async)
  int64_t next_queue_seq = 1;
  uint64_t webhook_epoch = 1;
  std::atomic<int> webhook_in_flight{0};         // HTTP sends in progress
  std::condition_variable webhook_cv;            // wakes the worker (with mu)
  bool webhook_stop = false;
};

/* ------------------------------------------------------------ time helpers */

/* The emulator's "now": what every handler sees as the current time (token
 * expiry, minimum notice, reservations, createdAt...). Precondition: st.mu
 * held or no threads. */
inline int64_t emulator_now(const State& st) {
  return st.clock_frozen ? st.clock_frozen_ms : real_now_ms() + st.clock_offset_ms;
}

/* "2026-03-01T10:00:00.000Z" */
inline std::string iso_utc_ms(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) { frac += 1000; secs -= 1; }
  struct tm tm_utc {};
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(frac));
  return out;
}

/* ------------------------------------------------------------ JSON helpers */

inline std::string json_dump(const Json::Value& v) {
  Json::StreamWriterBuilder b;
  b["indentation"] = "";
  b["emitUTF8"] = true;
  return Json::writeString(b, v);
}

/* Parses strict JSON (no comments, nothing after the value). On failure sets
 * err to the parser's message and returns false. */
inline bool json_parse(const std::string& text, Json::Value& out, std::string& err) {
  Json::CharReaderBuilder b;
  b["collectComments"] = false;
  b["allowComments"] = false;
  b["allowTrailingCommas"] = false;
  b["strictRoot"] = false;
  b["allowDroppedNullPlaceholders"] = false;
  b["allowNumericKeys"] = false;
  b["allowSingleQuotes"] = false;
  b["failIfExtra"] = true;
  b["rejectDupKeys"] = false;
  b["allowSpecialFloats"] = false;
  std::unique_ptr<Json::CharReader> r(b.newCharReader());
  std::string errs;
  if (!r->parse(text.data(), text.data() + text.size(), &out, &errs)) {
    err = errs;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return false;
  }
  return true;
}

/* JS `typeof v === "number"` for a value that came out of JSON. */
inline bool json_is_number(const Json::Value& v) {
  return v.isInt() || v.isUInt() || v.isInt64() || v.isUInt64() || v.isDouble();
}

/* A JSON number with no fractional part, within int64. */
inline bool json_as_int64(const Json::Value& v, int64_t& out) {
  if (v.isInt64()) { out = v.asInt64(); return true; }
  if (v.isDouble()) {
    double d = v.asDouble();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9e15 && d < 9e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

/* ------------------------------------------------------- string helpers */

inline std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string::npos) { out.push_back(s.substr(start)); break; }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
  return out;
}

/* Number of Unicode code points in UTF-8 text (for length limits). */
inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) if ((c & 0xC0) != 0x80) ++n;
  return n;
}

/* Cal.com's slugify, restricted to ASCII: lower-case, every run of characters
 * other than [a-z0-9] becomes one '-', no leading or trailing '-'. */
inline std::string slugify(const std::string& s) {
  std::string out;
  bool pending_dash = false;
  for (unsigned char c : s) {
    char l = static_cast<char>(std::tolower(c));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      if (pending_dash && !out.empty()) out.push_back('-');
      pending_dash = false;
      out.push_back(l);
    } else {
      pending_dash = true;
    }
  }
  return out;
}

/* A loose check in the spirit of class-validator's isEmail: one '@', a
 * non-empty local part, a dotted domain of letters, digits and '-'. */
inline bool is_email(const std::string& s) {
  size_t at = s.find('@');
  if (at == std::string::npos || at == 0 || s.find('@', at + 1) != std::string::npos) return false;
  std::string local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || domain.size() > 253) return false;
  for (unsigned char c : local) if (c <= ' ' || c == '"' || c == '(' || c == ')' || c == ',' ||
                                    c == ':' || c == ';' || c == '<' || c == '>' || c == '[' ||
                                    c == ']' || c == '\\' || c >= 0x7f) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  auto labels = split(domain, '.');
  if (labels.size() < 2) return false;
  for (const auto& l : labels) {
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (unsigned char c : l) if (!std::isalnum(c) && c != '-') return false;
  }
  return labels.back().size() >= 2;
}

/* http(s)://host[...] with a non-empty host. */
inline bool is_http_url(const std::string& s) {
  std::string rest;
  if (starts_with(s, "https://")) rest = s.substr(8);
  else if (starts_with(s, "http://")) rest = s.substr(7);
  else return false;
  size_t end = rest.find_first_of("/?#");
  std::string host = rest.substr(0, end);
  if (host.empty()) return false;
  for (unsigned char c : s) if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

/* ----------------------------------------------------------- HTML helpers */

inline std::string html_escape(const std::string& s) { return coach::html::text(s); }

/* --------------------------------------------------------- time-zone index */

/* The tz database names under /usr/share/zoneinfo (regular TZif files; the
 * posix/ and right/ copies and the non-zone files skipped), keyed by their
 * lower-case form so "europe/madrid" normalises to "Europe/Madrid". Built
 * once at start-up, read-only afterwards. */
inline const std::map<std::string, std::string>& time_zone_index() {
  static const std::map<std::string, std::string> index = [] {
    std::map<std::string, std::string> idx;
    namespace fs = std::filesystem;
    const fs::path root = "/usr/share/zoneinfo";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return idx;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::string rel = p.lexically_relative(root).generic_string();
      if (it->is_directory(ec)) {
        if (rel == "posix" || rel == "right") it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      if (rel == "posixrules" || rel == "localtime" || rel == "Factory") continue;
      std::ifstream f(p, std::ios::binary);
      char magic[4] = {0, 0, 0, 0};
      if (!f.read(magic, 4) || std::string(magic, 4) != "TZif") continue;
      idx.emplace(to_lower(rel), rel);
    }
    return idx;
  }();
  return index;
}

/* The canonical spelling of a tz name, or nullopt when it is not a zone. */
inline std::optional<std::string> canonical_time_zone(const std::string& name) {
  if (name.empty() || name.size() > 64) return std::nullopt;
  const auto& idx = time_zone_index();
  auto it = idx.find(to_lower(name));
  if (it == idx.end()) return std::nullopt;
  return it->second;
}

/* ------------------------------------------------------- call and reply */

struct Reply;

/* One request as a handler sees it. `params` are the route's regex captures. */
struct Call {
  const httplib::Request& req;
  std::vector<std::string> params;
  State& st;
  const Config& cfg;
  int64_t now_ms = 0;
  std::string request_id;
  std::vector<std::function<void()>> deferred;  // run after the state lock is released
  // Run after `deferred`, without the lock, and may replace the reply (a
  // control endpoint that reports the outcome of webhook sends).
  std::function<void(Reply&)> finish;

  std::string header(const char* name) const { return req.get_header_value(name); }
  bool has_header(const char* name) const { return req.has_header(name); }
  /* First query parameter of that name, or nullopt. */
  std::optional<std::string> query(const char* name) const {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
  }
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/* ------------------------------------------------------------- envelopes */

inline const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 302: return "Found";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 498: return "Token Expired";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

/* The NestJS exception class Cal.com would throw for that status. */
inline const char* exception_name(int status) {
  switch (status) {
    case 400: return "BadRequestException";
    case 401: return "UnauthorizedException";
    case 403: return "ForbiddenException";
    case 404: return "NotFoundException";
    case 405: return "MethodNotAllowedException";
    case 408: return "RequestTimeoutException";
    case 409: return "ConflictException";
    case 410: return "GoneException";
    case 413: return "PayloadTooLargeException";
    case 415: return "UnsupportedMediaTypeException";
    case 422: return "UnprocessableEntityException";
    case 429: return "ThrottlerException";
    case 498: return "TokenExpiredException";
    case 500: return "InternalServerErrorException";
    case 501: return "NotImplementedException";
    case 502: return "BadGatewayException";
    case 503: return "ServiceUnavailableException";
    case 504: return "GatewayTimeoutException";
    default: return "HttpException";
  }
}

/* {"status":"success","data":data} */
inline Reply ok_reply(const Json::Value& data, int status = 200) {
  Json::Value env(Json::objectValue);
  env["status"] = "success";
  env["data"] = data;
  Reply r;
  r.status = status;
  r.body = json_dump(env);
  return r;
}

/* The HttpExceptionFilter envelope with explicit code and details. `path` is
 * the request URL as sent (with its query string), like Express's req.url. */
inline Reply error_reply_full(const Call& c, int status, const std::string& code,
                              const std::string& message, const Json::Value& details) {
  Json::Value env(Json::objectValue);
  env["status"] = "error";
  env["timestamp"] = iso_utc_ms(c.now_ms ? c.now_ms : real_now_ms());
  env["path"] = c.req.target.empty() ? c.req.path : c.req.target;
  Json::Value err(Json::objectValue);
  err["code"] = code;
  err["message"] = message;
  err["details"] = details;
  env["error"] = err;
  Reply r;
  r.status = status;
  r.body = json_dump(env);
  return r;
}

/* A built-in NestJS exception thrown with a string message: details is
 * {message, error: <reason phrase>, statusCode}. */
inline Reply error_reply(const Call& c, int status, const std::string& message) {
  Json::Value details(Json::objectValue);
  details["message"] = message;
  details["error"] = reason_phrase(status);
  details["statusCode"] = status;
  return error_reply_full(c, status, exception_name(status), message, details);
}

/* class-validator failure: 400 "Bad Request Exception", details {errors:[...]}. */
inline Reply validation_reply(const Call& c, const Json::Value& errors) {
  Json::Value details(Json::objectValue);
  details["errors"] = errors;
  return error_reply_full(c, 400, "BadRequestException", "Bad Request Exception", details);
}

/* One class-validator ValidationError. `value` is omitted when undefined. */
inline Json::Value validation_error(const std::string& property, const Json::Value* value,
                                    const std::string& constraint, const std::string& message) {
  Json::Value e(Json::objectValue);
  if (value) e["value"] = *value;
  e["property"] = property;
  e["children"] = Json::Value(Json::arrayValue);
  Json::Value cons(Json::objectValue);
  cons[constraint] = message;
  e["constraints"] = cons;
  return e;
}

/* Reads the body as a JSON object the way Express's json + urlencoded parsers
 * feed NestJS: empty body -> {}, a form body -> an object of strings, anything
 * else is parsed as JSON (a form-typed body that starts with '{' too, so
 * `curl -d '{...}'` works). Malformed JSON or a non-object -> 400 envelope. */
inline std::optional<Reply> read_json_body(const Call& c, Json::Value& out) {
  const std::string& body = c.req.body;
  std::string ctype = to_lower(c.header("Content-Type"));
  std::string first;
  for (char ch : body) if (!std::isspace(static_cast<unsigned char>(ch))) { first = ch; break; }
  if (first.empty()) { out = Json::Value(Json::objectValue); return std::nullopt; }
  if (ctype.find("application/x-www-form-urlencoded") != std::string::npos && first != "{") {
    out = Json::Value(Json::objectValue);
    for (const auto& [k, v] : parse_form(body)) out[k] = v;
    return std::nullopt;
  }
  std::string err;
  if (!json_parse(body, out, err)) {
    return error_reply(c, 400, "Invalid JSON in request body: " + err);
  }
  if (!out.isObject()) return error_reply(c, 400, "Request body must be a JSON object");
  return std::nullopt;
}

/* A random UUID-v4-shaped id (for X-Request-Id). */
inline std::string random_uuid() {
  std::string h = coach::crypto::random_hex(16);
  h[12] = '4';
  static const char* variant = "89ab";
  h[16] = variant[static_cast<unsigned char>(h[16]) % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

/* ------------------------------------------------------ cal-api-version */

/* The versioned families (schedules, event types, slots, bookings) check the
 * cal-api-version header before anything else.
 *
 * DEVIATION from Cal.com, on purpose: real Cal.com routes a missing or unknown
 * cal-api-version to its legacy 2024-04-15 controllers, which take and return
 * different shapes. The emulator implements only the versions listed here and
 * answers anything else with a loud 400 (BadRequestException) naming the
 * version to send, so a client that forgets the header fails in tests instead
 * of silently talking to the legacy API in production. */
inline std::optional<Reply> require_api_version(Call& c, const std::vector<std::string>& accepted,
                                                const std::string& family) {
  const std::string got = c.has_header("cal-api-version") ? c.header("cal-api-version") : "";
  for (const auto& v : accepted) if (got == v) return std::nullopt;
  c.st.counters.n_api_version_rejections++;
  std::string list;
  for (size_t i = 0; i < accepted.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == accepted.size() ? " or " : ", ") + std::string("\"") + accepted[i] + "\"";
  }
  std::string message = "cal-api-version header must be " + list + " for " + family + " (got " +
                        (got.empty() ? std::string("none") : "\"" + got + "\"") +
                        "). The Cal.com emulator only implements the listed version; real Cal.com "
                        "would silently fall back to the legacy 2024-04-15 endpoints.";
  return error_reply(c, 400, message);
}

/* ------------------------------------------------- validation helpers */

/* A class-validator error for a nested property: path {"availability","0",
 * "startTime"} gives availability -> children 0 -> children startTime with the
 * value and constraint on the leaf, as ValidationPipe reports nested DTOs. */
inline Json::Value nested_validation_error(const std::vector<std::string>& path, const Json::Value* value,
                                           const std::string& constraint, const std::string& message) {
  Json::Value leaf = validation_error(path.back(), value, constraint, message);
  for (size_t i = path.size() - 1; i-- > 0;) {
    Json::Value parent(Json::objectValue);
    parent["property"] = path[i];
    parent["children"] = Json::Value(Json::arrayValue);
    parent["children"].append(leaf);
    parent["constraints"] = Json::Value(Json::objectValue);
    leaf = parent;
  }
  return leaf;
}

/* Collects class-validator-style errors for one request body (a JSON
 * object). Absent and null both count as "not given" (IsOptional). */
class BodyChecker {
 public:
  explicit BodyChecker(const Json::Value& body) : body_(body) {}
  bool present(const char* k) const { return body_.isMember(k) && !body_[k].isNull(); }
  const Json::Value& operator[](const char* k) const { return body_[k]; }
  Json::Value& errors() { return errors_; }
  bool ok() const { return errors_.empty(); }

  void add(const char* k, const std::string& constraint, const std::string& message) {
    errors_.append(validation_error(k, present(k) ? &body_[k] : nullptr, constraint, message));
  }
  void add_nested(const std::vector<std::string>& path, const Json::Value* value,
                  const std::string& constraint, const std::string& message) {
    errors_.append(nested_validation_error(path, value, constraint, message));
  }

  std::optional<std::string> str(const char* k, bool required = false) {
    if (!present(k)) {
      if (required) add(k, "isString", std::string(k) + " must be a string");
      return std::nullopt;
    }
    if (!body_[k].isString()) { add(k, "isString", std::string(k) + " must be a string"); return std::nullopt; }
    return body_[k].asString();
  }
  std::optional<bool> boolean(const char* k, bool required = false) {
    if (!present(k)) {
      if (required) add(k, "isBoolean", std::string(k) + " must be a boolean value");
      return std::nullopt;
    }
    if (!body_[k].isBool()) { add(k, "isBoolean", std::string(k) + " must be a boolean value"); return std::nullopt; }
    return body_[k].asBool();
  }
  /* An integer >= min (class-validator IsInt + Min). */
  std::optional<int64_t> integer(const char* k, bool required = false, int64_t min = 0,
                                 int64_t max = 1000000000) {
    if (!present(k)) {
      if (required) add(k, "isNumber", std::string(k) + " must be a number conforming to the specified constraints");
      return std::nullopt;
    }
    int64_t v = 0;
    if (!json_is_number(body_[k])) {
      add(k, "isNumber", std::string(k) + " must be a number conforming to the specified constraints");
      return std::nullopt;
    }
    if (!json_as_int64(body_[k], v)) { add(k, "isInt", std::string(k) + " must be an integer number"); return std::nullopt; }
    if (v < min) { add(k, "min", std::string(k) + " must not be less than " + std::to_string(min)); return std::nullopt; }
    if (v > max) { add(k, "max", std::string(k) + " must not be greater than " + std::to_string(max)); return std::nullopt; }
    return v;
  }
  const Json::Value* array(const char* k, bool required = false) {
    if (!present(k)) {
      if (required) add(k, "isArray", std::string(k) + " must be an array");
      return nullptr;
    }
    if (!body_[k].isArray()) { add(k, "isArray", std::string(k) + " must be an array"); return nullptr; }
    return &body_[k];
  }
  const Json::Value* object(const char* k, bool required = false) {
    if (!present(k)) {
      if (required) add(k, "isObject", std::string(k) + " must be an object");
      return nullptr;
    }
    if (!body_[k].isObject()) {
      add(k, "nestedValidation", "nested property " + std::string(k) + " must be either object or array");
      return nullptr;
    }
    return &body_[k];
  }

 private:
  const Json::Value& body_;
  Json::Value errors_ = Json::Value(Json::arrayValue);
};

/* Booking/user metadata rule (ValidateMetadata): at most 50 keys, keys up to
 * 40 characters, values string (up to 500), number or boolean. */
inline bool metadata_ok(const Json::Value& m) {
  if (!m.isObject() || m.size() > 50) return false;
  for (const auto& key : m.getMemberNames()) {
    const Json::Value& v = m[key];
    if (utf8_length(key) > 40) return false;
    if (v.isString()) {
      if (utf8_length(v.asString()) > 500) return false;
    } else if (!json_is_number(v) && !v.isBool()) {
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------- calendar dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm). */
inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

inline std::string civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(y), m, d);
  return buf;
}

/* "YYYY-MM-DD" (a real calendar date) -> days since the epoch. */
inline std::optional<int64_t> parse_ymd(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) if (s[i] < '0' || s[i] > '9') return std::nullopt;
  int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

/* 0 = Sunday ... 6 = Saturday for days since the epoch (1970-01-01 was a Thursday). */
inline int weekday_of_days(int64_t days) {
  return static_cast<int>(((days % 7) + 7 + 4) % 7);
}

/* "HH:MM" with hours 00-23 and minutes 00-59 (Cal.com's IsTimeFormat). */
inline bool is_hhmm(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (size_t i : {0u, 1u, 3u, 4u}) if (s[i] < '0' || s[i] > '9') return false;
  return (s[0] - '0') * 10 + (s[1] - '0') <= 23 && s[3] <= '5';
}

/* ------------------------------------------------------------- ids, emails */

/* Booking outputs' displayEmail: the address with a "+<25 alphanumerics>"
 * segment (a platform client id) removed from the local part. */
inline std::string display_email(const std::string& email) {
  size_t at = email.find('@');
  if (at == std::string::npos) return email;
  size_t plus = email.rfind('+', at);
  if (plus == std::string::npos || at - plus - 1 != 25) return email;
  for (size_t i = plus + 1; i < at; ++i) {
    if (!std::isalnum(static_cast<unsigned char>(email[i]))) return email;
  }
  return email.substr(0, plus) + email.substr(at);
}

}  // namespace calcom_emu
