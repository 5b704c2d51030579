/* booking_hooks.hpp: the one place every booking change fans out to the
 * features derived from it (layer 4). Called inside the transaction that
 * changed a CalBooking row, whatever the source: our bookings API (create,
 * reschedule, cancel), a Cal.com webhook or reconciliation (through
 * webhooks::converge_booking / mark_rescheduled). Every callee is idempotent
 * and only reads the rows and queues outbox jobs, so calling it twice for the
 * same change is harmless.
 *
 * Chains: a reschedule gives the booking a new Cal.com uid. Coaching data
 * (sessions, notes, the Zoom meeting, payments) belongs to the whole chain and
 * is keyed by chain_root(): the uid of the first booking of the chain. */
#pragma once
#include <string>

#include "db.hpp"

namespace coach::booking_hooks {

/* The uid of the first booking of uid's reschedule chain: following
 * CalBooking.rescheduled_from_uid back (at most 50 steps), the first
 * booking_meta.ics_uid met (without its "@domain"), else the oldest uid. */
std::string chain_root(db::Db& db, const std::string& uid);

/* The newest booking of the chain rooted at root (following
 * rescheduled_to_uid, at most 50 steps); root itself when never moved. */
std::string chain_head(db::Db& db, const std::string& root);

/* Inside tx, after the CalBooking row of uid changed: sessions (status,
 * reminders) and meetings (Zoom create/update/delete jobs). */
void changed(db::Db& tx, const std::string& uid);

}  // namespace coach::booking_hooks
