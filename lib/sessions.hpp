/* sessions.hpp: coaching sessions (layer 4, domain): CoachingSession rows
 * derived from bookings (one per reschedule chain, see booking_hooks), their
 * status and attendance, notes with history, reminders.
 *
 * (Being built for issue 6: the functions below are the contract other
 * modules call; the rest of this header grows with the feature.) */
#pragma once
#include <string>

#include "db.hpp"
#include "result.hpp"

namespace coach::sessions {

/* Inside tx, after the CalBooking row of uid changed (any source). Creates or
 * updates the chain's CoachingSession (scheduled / cancelled, times, meeting
 * facts Cal.com reported), moves or drops its reminders. Idempotent. */
void on_booking_changed(db::Db& tx, const std::string& uid);

/* Meeting evidence from Zoom (or any other source) about the session of
 * booking_uid (any uid of the chain). */
enum class Evidence { meeting_started, meeting_ended, participant_joined, participant_left };
struct EvidenceIn {
  std::string booking_uid;
  Evidence kind = Evidence::meeting_started;
  std::string at_utc;              // "YYYY-MM-DD HH:MM:SS[.mmm]" UTC
  std::string participant_email;   // participant_* only; may be "" (then participant_name)
  std::string participant_name;
  std::string source;              // "zoom" | "calcom" | ...
  std::string source_event_id;     // for de-duplication (e.g. the Zoom event's key)
};
/* Records the evidence once (same source_event_id: no-op) and moves the
 * session's status/attendance; out-of-order evidence converges. */
Status record_evidence(db::Db& tx, const EvidenceIn& e);

}  // namespace coach::sessions
