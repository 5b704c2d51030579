// Placeholder until the sessions module lands (issue 6): the hook is a no-op.
#include "sessions.hpp"

namespace coach::sessions {
void on_booking_changed(db::Db&, const std::string&) {}
Status record_evidence(db::Db&, const EvidenceIn&) { return ok_status(); }
}  // namespace coach::sessions
