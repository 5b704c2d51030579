/* meetings.hpp: one video meeting per coaching session (layer 4, domain).
 *
 * Which bookings get a meeting of ours (the rule):
 *   Zoom is our video for a session type whose Cal.com locations (our mirror,
 *   EventType.locations_json) are empty or only video integrations we stand
 *   in for: Cal.com's default Cal Video ("cal-video") or "zoom". A session
 *   type with an address, a phone, a link or another video app (Google Meet,
 *   ...) gets none, and neither does a booking whose own location is a place
 *   or a phone number.
 *   If the Cal.com booking already carries a Zoom join URL (the coach
 *   connected Zoom inside Cal.com; Cal.com made the meeting), we record that
 *   URL (provider 'calcom', state 'external') and create nothing.
 *   Only accepted bookings get a meeting (pending ones once confirmed).
 *
 * The meeting belongs to the reschedule chain (booking_hooks::chain_root): a
 * reschedule PATCHes the same Zoom meeting (same join URL), a cancel deletes
 * it. All Zoom calls happen in the worker through "zoom_meeting" jobs queued
 * in the transaction of the booking change; a failure leaves the row in state
 * 'failed' with last_error and a log line, and the job retries with backoff.
 * Once created, the join URL is written to CalBooking.join_url and sent to
 * Cal.com (PATCH /v2/bookings/{uid}/location as the coach), so the booking,
 * the e-mails (booking_mail asks mail_link()) and the dashboards show it.
 *
 * Also here: the account's S2S OAuth token (cached in the zoom_token row,
 * sealed, refreshed by one process at a time under a row lock, refreshed once
 * and retried on 401 code 124), the Zoom webhook inbox (verified, stored,
 * applied: meeting/participant events reach sessions::record_evidence), and
 * test meetings for /api/cal/zoom and the test page. */
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
#include "zoom_client.hpp"

namespace coach::meetings {

inline constexpr const char* kJobKind = "zoom_meeting";
inline constexpr const char* kWebhookJobKind = "zoom_webhook";
inline constexpr int64_t kTokenMarginS = 60;    // refresh the token this long before expiry
inline constexpr size_t kMaxWebhookBody = 256 * 1024;

/* The rule above for a new chain: the session type's locations (EventType.
 * locations_json; "" = unknown) leave the video to us, and the booking's own
 * location is not a place or phone number. Pure. */
bool uses_our_zoom(const std::string& locations_json, const std::string& booking_location);

/* Inside tx, after the CalBooking row of uid changed (any source): records a
 * Cal.com-made Zoom URL, or queues the create/update/delete job the change
 * calls for. Idempotent. */
void on_booking_changed(db::Db& tx, const std::string& uid);

/* ---- the account token --------------------------------------------------- */

struct TokenStatus {
  bool configured = false, has_token = false;
  int64_t expires_at_ms = 0, n_fetches = 0;
  std::string token_masked, scope, last_fetched_at, last_error, last_error_at;
};
TokenStatus token_status(const Config& cfg, db::Db& db);
Json::Value to_json(const TokenStatus& t);

/* A usable access token. force: fetch a new one now (live credential check).
 * stale: a token Zoom just refused; if the stored one differs another process
 * already refreshed, else a new one is fetched. One fetch at a time (row lock). */
Result<std::string> access_token(const Config& cfg, db::Db& db, zoom::Client& z, bool force = false,
                                 const std::string& stale = "");

/* A Zoom call with the cached token; on 401 (code 124) refreshes once and retries once. */
Result<Json::Value> zoom_call(const Config& cfg, db::Db& db, zoom::Client& z, const std::string& method,
                              const std::string& path, const Json::Value* body);

/* ---- meetings --------------------------------------------------------------- */

struct MeetingRow {
  int64_t id = 0;
  std::string purpose, provider, state, chain_root_uid, booking_uid;
  int64_t coach_user_id = 0, created_by_user_id = 0, zoom_meeting_id = 0;
  std::string zoom_uuid, topic, start_utc /* ISO Z */, time_zone, agenda, join_url, start_url;
  int duration_min = 0;
  Json::Value settings;
  std::string zoom_status, started_at, ended_at, last_error, created_at, updated_at;
  int n_attempts = 0;
};
/* include_start_url: only for the coach/admin who may start the meeting. */
Json::Value to_json(const MeetingRow& m, bool include_start_url);

/* The meeting of uid's chain, if any (any uid of the chain). */
std::optional<MeetingRow> for_booking(const Config& cfg, db::Db& db, const std::string& uid);
std::optional<MeetingRow> find(const Config& cfg, db::Db& db, int64_t zoom_meeting_id);
/* By our row id. */
std::optional<MeetingRow> by_id(const Config& cfg, db::Db& db, int64_t id);

/* What a booking e-mail should say about video: the join URL when known;
 * pending when our meeting is still being made (say "the link will follow").
 * Both empty: not a video booking of ours (use the booking's own location). */
struct MailLink {
  std::string join_url;
  bool pending = false;
};
MailLink mail_link(const Config& cfg, db::Db& db, const std::string& booking_uid);

/* Worker: performs a zoom_meeting job (payload {"root": chain root uid}):
 * makes Zoom match the chain's newest booking. An Error means retry later. */
Status perform_job(const Config& cfg, db::Db& db, zoom::Client& z, calcom::Client& cal, const Json::Value& payload);

/* Worker, every few minutes: a booking meeting still pending or failed 10
 * minutes after its last change (its job died or was lost) gets a new job,
 * at most one per chain per hour (the hour is in the idempotency key).
 * Returns how many were queued. */
int requeue_stuck(db::Db& db);

/* Test meetings (purpose 'test') for /api/cal/zoom and the test page. The
 * owner is the coach/admin who made it; admins see all. */
Result<MeetingRow> create_test_meeting(const Config& cfg, db::Db& db, zoom::Client& z, int64_t user_id,
                                       const zoom::MeetingSpec& spec);
/* Body fields: topic, start (ISO UTC), duration, timeZone, agenda,
 * waitingRoom, joinBeforeHost, autoRecording. 400 naming the first bad one.
 * For create, missing fields get defaults (start: next full hour + 1 h). */
/* What meeting m was made with: the base a partial update starts from. */
zoom::MeetingSpec spec_of(const MeetingRow& m);
Result<zoom::MeetingSpec> parse_spec(const Json::Value& body, const zoom::MeetingSpec& base, bool is_create);
/* Live GET from Zoom; refreshes the stored copy. 404 when Zoom deleted it. */
Result<std::pair<MeetingRow, Json::Value>> get_live(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m);
Result<MeetingRow> update_meeting(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m,
                                  const zoom::MeetingSpec& spec);
Status delete_meeting(const Config& cfg, db::Db& db, zoom::Client& z, const MeetingRow& m);
/* Meetings visible to the user (admin: all), newest first. */
std::vector<MeetingRow> list_meetings(const Config& cfg, db::Db& db, int64_t user_id, bool is_admin,
                                      const std::string& purpose, int limit);
/* Who may read a meeting with its host start URL, change or delete it: an
 * admin, the coach who hosts it, the user who made a test meeting. Never the
 * booking's agent (the start URL gives host control; agents get the join
 * link through the booking and session pages). */
bool may_manage(const MeetingRow& m, int64_t user_id, bool is_admin);

/* ---- webhooks ----------------------------------------------------------- */

struct Received {
  int http_status = 200;
  std::string error_code, error_message;
  Json::Value reply;     // the JSON to answer with on 200
  bool duplicate = false;
  int64_t event_id = 0;
};
/* POST /api/zoom/webhook: verifies x-zm-signature over the raw body (401,
 * nothing stored, on failure), answers endpoint.url_validation, stores other
 * events in zoom_webhook_events (unique dedupe key; a duplicate is a no-op)
 * with a retry job in the same transaction, then applies inline. */
Received receive_webhook(const Config& cfg, db::Db& db, const std::string& body, const std::string& signature,
                         const std::string& timestamp, int64_t now_s);
/* Applies one stored event in one transaction (idempotent). */
Status apply_event(db::Db& db, int64_t event_id);
Json::Value recent_events(db::Db& db, int64_t user_id, bool is_admin, int limit);

}  // namespace coach::meetings
