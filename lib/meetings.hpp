/* meetings.hpp: one video meeting per coaching session (layer 4, domain).
 * For session types that use our Zoom account, a Zoom meeting is created
 * for a new booking, updated on reschedule and deleted on cancel, through
 * outbox jobs; the join URL reaches the booking. A coach who connected Zoom
 * inside Cal.com gets Cal.com's meeting and none from us.
 *
 * (Being built for issue 6: the hook below is the contract other modules
 * call; the rest of this header grows with the feature.) */
#pragma once
#include <string>

#include "db.hpp"

namespace coach::meetings {

/* Inside tx, after the CalBooking row of uid changed (any source): queues
 * the create/update/delete job the change calls for. Idempotent. */
void on_booking_changed(db::Db& tx, const std::string& uid);

}  // namespace coach::meetings
