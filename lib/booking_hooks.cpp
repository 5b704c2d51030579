#include "booking_hooks.hpp"

#include "meetings.hpp"
#include "sessions.hpp"

namespace coach::booking_hooks {

std::string chain_root(db::Db& db, const std::string& uid) {
  std::string cur = uid;
  for (int i = 0; i < 50; ++i) {
    // A booking we know (booking_meta) names its chain; one moved outside our
    // API has no meta yet, so look further back.
    if (auto m = db.query_one("SELECT ics_uid FROM booking_meta WHERE cal_uid = ?", {cur})) {
      std::string ics = m->str("ics_uid");
      auto at = ics.find('@');
      if (at != std::string::npos && at > 0) return ics.substr(0, at);
    }
    auto r = db.query_one("SELECT rescheduled_from_uid FROM CalBooking WHERE cal_uid = ?", {cur});
    if (!r || r->is_null("rescheduled_from_uid") || r->str("rescheduled_from_uid").empty()) break;
    cur = r->str("rescheduled_from_uid");
  }
  return cur;
}

std::string chain_head(db::Db& db, const std::string& root) {
  std::string cur = root;
  for (int i = 0; i < 50; ++i) {
    auto r = db.query_one("SELECT rescheduled_to_uid FROM CalBooking WHERE cal_uid = ?", {cur});
    if (!r || r->is_null("rescheduled_to_uid") || r->str("rescheduled_to_uid").empty()) break;
    cur = r->str("rescheduled_to_uid");
  }
  return cur;
}

void changed(db::Db& tx, const std::string& uid) {
  sessions::on_booking_changed(tx, uid);
  meetings::on_booking_changed(tx, uid);
}

}  // namespace coach::booking_hooks
