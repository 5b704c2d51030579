/* availability.hpp: a coach's schedules and session types (Cal.com event
 * types) mirrored in our database, kept in step both ways (our writes go to
 * Cal.com first; Cal.com is the source of truth on pull), and free slots:
 * Cal.com's /v2/slots answer cached per coach version, falling back to the
 * local slot engine over the mirror when Cal.com is slow or down (marked
 * degraded). */
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

namespace coach::availability {

inline constexpr const char* kScheduleApiVersion = "2024-06-11";
inline constexpr const char* kEventTypeApiVersion = "2024-06-14";
inline constexpr const char* kSlotsApiVersion = "2024-09-04";

/* Cache version: every booking, schedule or session-type change bumps it. */
void bump_version(db::Db& db, int64_t coach_user_id);
int64_t current_version(db::Db& db, int64_t coach_user_id);

struct ScheduleRow {
  int64_t cal_schedule_id = 0;
  std::string name, time_zone;
  bool is_default = false;
  Json::Value availability{Json::arrayValue}, overrides{Json::arrayValue};
};
Json::Value to_json(const ScheduleRow& s);

struct EventTypeRow {
  int64_t cal_event_type_id = 0, user_id = 0;
  std::string title, slug, description;
  int length_min = 0, before_buffer_min = 0, after_buffer_min = 0, minimum_notice_min = 0;
  int slot_interval_min = 0;          // 0 = length
  int64_t cal_schedule_id = 0;        // 0 = coach's default
  Json::Value locations{Json::arrayValue}, booking_fields{Json::arrayValue}, limits{Json::objectValue};
  int64_t price_minor = 0;
  std::string currency = "USD";
  std::string refund_policy;          // "24h:100,2h:50"; "" = the platform's refund-policy
  bool hidden = false;
};
Json::Value to_json(const EventTypeRow& e);

struct Ctx {
  const Config& cfg;
  db::Db& db;
  calcom::Client& cal;
};

/* Schedules. Input is Cal.com's schedule JSON (name, timeZone, isDefault,
 * availability, overrides), validated locally first (400 invalid_schedule
 * naming the field) so nothing half-valid reaches Cal.com. */
std::vector<ScheduleRow> list_schedules(db::Db& db, int64_t coach_user_id);
Result<std::vector<ScheduleRow>> sync_schedules(Ctx& c, int64_t coach_user_id);
Result<ScheduleRow> create_schedule(Ctx& c, int64_t coach_user_id, const Json::Value& input);
Result<ScheduleRow> update_schedule(Ctx& c, int64_t coach_user_id, int64_t cal_schedule_id, const Json::Value& patch);
Status delete_schedule(Ctx& c, int64_t coach_user_id, int64_t cal_schedule_id);

/* Session types. Input: title, slug, description, lengthInMinutes,
 * beforeEventBuffer, afterEventBuffer, minimumBookingNotice, slotInterval,
 * scheduleId, location ("zoom" | "cal-video" | none), bookingFields,
 * bookingLimitsCount, bookingWindow, hidden; ours: priceMinor, currency,
 * refundPolicy (payments::parse_policy; null or "" = the platform's). */
std::vector<EventTypeRow> list_event_types(db::Db& db, int64_t coach_user_id);
std::optional<EventTypeRow> find_event_type(db::Db& db, int64_t cal_event_type_id);
Result<std::vector<EventTypeRow>> sync_event_types(Ctx& c, int64_t coach_user_id);
Result<EventTypeRow> create_event_type(Ctx& c, int64_t coach_user_id, const Json::Value& input);
Result<EventTypeRow> update_event_type(Ctx& c, int64_t coach_user_id, int64_t cal_event_type_id, const Json::Value& patch);
Status delete_event_type(Ctx& c, int64_t coach_user_id, int64_t cal_event_type_id);

/* Free slots. start/end: ISO instants or dates (Cal.com's rules: a date-only
 * end means 23:59:59Z); time_zone: the viewer's zone. */
struct SlotQuery {
  int64_t coach_user_id = 0;
  int64_t cal_event_type_id = 0;
  std::string start, end, time_zone = "UTC";
  int duration_min = 0;
};
struct SlotAnswer {
  Json::Value days{Json::arrayValue};   // [{"date","slots":[{"start","end"}]}]
  std::string source;                   // "cache" | "calcom" | "local"
  bool degraded = false;                // true when computed locally (Cal.com failed)
  std::string window_start, window_end; // normalized UTC ISO
};
/* 400 invalid_time_zone / invalid_window / invalid_time, 404 unknown_coach /
 * unknown_event_type. Never 5xx because of Cal.com: falls back locally. */
Result<SlotAnswer> free_slots(Ctx& c, const SlotQuery& q);

/* Pulls schedules and event types of one coach (reconciliation). */
Status sync_coach(Ctx& c, int64_t coach_user_id);

}  // namespace coach::availability
