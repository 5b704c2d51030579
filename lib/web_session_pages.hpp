/* web_session_pages.hpp: internal to the web layer: the session dashboard
 * and detail pages (web_session_pages.cpp) that my_sessions_page in
 * web_booking_pages.cpp dispatches to. */
#pragma once
#include <string>
#include <vector>

#include "bookings.hpp"
#include "web.hpp"

namespace coach::web {

/* Everything the booking and session pages show of one booking b (already
 * authorized), times in viewer_zone: labels, times in each party's zone,
 * links, calendar links, the payment, and with_answers the agent's answers
 * (web_booking_pages.cpp). */
Json::Value booking_json(Context& ctx, const bookings::BookingView& b, const std::string& viewer_zone, bool with_answers);

}  // namespace coach::web

namespace coach::web::session_pages {

/* GET /my/sessions: the viewer's sessions (dashboard). auth.user is set. */
Response list(Context& ctx, const Request& req, const session::Auth& auth);

/* GET /my/sessions/{uid}: booking b (already authorized) and its session:
 * status, attendance, join button, notes, actions. notice is shown on top. */
Response detail(Context& ctx, const Request& req, const session::Auth& auth, const bookings::BookingView& b,
                const std::string& notice, int status = 200);

/* True for the paths after /my/sessions this module serves itself:
 * {uid}/notes, {uid}/notes/{id}, {uid}/notes/{id}/history, {uid}/complete,
 * {uid}/no-show. */
bool is_action(const std::vector<std::string>& parts);

/* Serves those (sign-in, method, CSRF checks included). */
Response action(Context& ctx, const Request& req, const std::vector<std::string>& parts);

}  // namespace coach::web::session_pages
