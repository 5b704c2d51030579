// Placeholder until the meetings module lands (issue 6): the hook is a no-op.
#include "meetings.hpp"

namespace coach::meetings {
void on_booking_changed(db::Db&, const std::string&) {}
}  // namespace coach::meetings
