/* web.hpp: the endpoint handlers (layer 5). Each takes the request and the
 * process context and returns a Response; cgi-bin/<endpoint>.cpp only calls
 * run_endpoint with one of them. Handlers never touch FastCGI, so tests call
 * them directly. */
#pragma once
#include <map>
#include <string>
#include <vector>

#include <json/json.h>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "http.hpp"
#include "result.hpp"
#include "session.hpp"

namespace coach::web {

struct Context {
  const Config& cfg;
  db::Db& db;
};

using HandlerFn = Response (*)(Context&, const Request&);

/* Loads the config (or exits naming the bad key), opens the log, and serves
 * requests with fn. DbError escaping fn becomes 503/500 via the error path. */
int run_endpoint(const std::string& name, HandlerFn fn);

/* Wraps fn with the DbError -> error response mapping (also used by tests). */
Response dispatch(Context& ctx, const Request& req, HandlerFn fn);

Response home(Context& ctx, const Request& req);            // GET /
Response health(Context& ctx, const Request& req);          // GET /healthz
Response auth(Context& ctx, const Request& req);            // /sign-in, /sign-out
Response cal_oauth_test(Context& ctx, const Request& req);  // /cal-oauth-test
Response cal_db_test(Context& ctx, const Request& req);     // /cal-db-test
Response cal_oauth(Context& ctx, const Request& req);       // /api/cal/oauth/{connect,callback}
Response cal_coaches(Context& ctx, const Request& req);     // /api/cal/coaches...
Response cal_availability(Context& ctx, const Request& req); // /api/cal/availability...
Response cal_event_types(Context& ctx, const Request& req);  // /api/cal/event-types...
Response cal_availability_test(Context& ctx, const Request& req); // /cal-availability-test
Response cal_event_types_test(Context& ctx, const Request& req);  // /cal-event-types-test
Response coach_calendar(Context& ctx, const Request& req);        // /coach/calendar
Response coach_profile(Context& ctx, const Request& req);         // /coaches/{id}
Response cal_webhooks(Context& ctx, const Request& req);          // /api/cal/webhooks... (management, inbox, stats)
Response cal_webhooks_receiver(Context& ctx, const Request& req); // POST /api/cal/webhooks/receiver (Cal.com)

/* run_endpoint with another body cap (bigger bodies: 413 before fn runs). */
int run_endpoint_capped(const std::string& name, HandlerFn fn, size_t max_body_bytes);
Response cal_bookings(Context& ctx, const Request& req);           // /api/cal/bookings...
Response cal_sessions(Context& ctx, const Request& req);           // /api/cal/sessions... (web_sessions.cpp)
Response cal_webhook_management(Context& ctx, const Request& req); // /cal-webhook-management
Response cal_webhook_test(Context& ctx, const Request& req);       // /cal-webhook-test (admins)
Response cal_webhook_monitor(Context& ctx, const Request& req);    // /cal-webhook-monitor (admins)
Response zoom_webhook(Context& ctx, const Request& req);               // POST /api/zoom/webhook (Zoom)
Response cal_zoom(Context& ctx, const Request& req);                   // /api/cal/zoom... (coaches, admins)
Response cal_zoom_integration_test(Context& ctx, const Request& req);  // /cal-zoom-integration-test

/* Helpers shared by handlers. */
Response method_not_allowed(const Request& req, const std::string& allowed);
/* Form fields of a POST (urlencoded); 415 for other content types is the caller's call. */
std::map<std::string, std::string> form_fields(const Request& req);
bool is_form(const Request& req);
bool is_json(const Request& req);
Json::Value exchanges_json(const std::vector<calcom::Exchange>& ex);
Response json_ok(int status, const Json::Value& data);
/* The error path for a request whose user is known: JSON for APIs, else the
 * error page with the signed-in user's top bar. */
Response error_for(Context& ctx, const Request& req, const session::Auth& auth, int status,
                   const std::string& code, const std::string& message);

/* Time-zone selects: a list of common IANA zones, and [{value, selected}] for
 * a template with the given zone selected (added first when valid but not listed). */
const std::vector<std::string>& common_zones();
Json::Value zone_options(const std::string& selected);

/* Renders a page with the layout context for the signed-in user merged in. */
Response page(Context& ctx, const Request& req, const session::Auth& auth, const std::string& tmpl,
              const std::string& title, Json::Value data, int status = 200);

/* ---- Form and path helpers (web_common.cpp) -------------------------------
 * Small string helpers the page and API handlers share. */

/* POSTed form fields by name (the last of a repeated name wins). */
using Form = std::map<std::string, std::string>;
/* The value of key in f; "" when absent. */
std::string field(const Form& f, const std::string& key);
/* s without leading and trailing spaces, tabs, CRs and LFs. */
std::string trim(const std::string& s);
/* True when s is non-empty and only ASCII digits. */
bool all_digits(const std::string& s);
/* User input quoted back in a message, cut to a readable length (64 bytes, then "…"). */
std::string clip(const std::string& s);
/* For template sections: an empty string would still open {{#x}}; null does not. */
Json::Value text_or_null(const std::string& s);
/* A positive id from a form or query value (1-18 digits, > 0); otherwise 400
 * invalid_field "<what> must be a positive number". */
Result<int64_t> positive_id(const std::string& s, const std::string& what);
/* The non-empty segments of path after prefix:
 * ("/api/cal/coaches/42/refresh", "/api/cal/coaches") -> {"42", "refresh"}. */
std::vector<std::string> path_tail(const std::string& path, const std::string& prefix);

/* Booking pages (web_booking_pages.cpp). */
Response book(Context& ctx, const Request& req);             // /book, /book/confirmation
Response my_sessions(Context& ctx, const Request& req);      // /my/sessions[/{uid}[/reschedule|/cancel]]
Response cal_booking_test(Context& ctx, const Request& req); // /cal-booking-test

/* Payments (web_payments.cpp, issue 7). */
Response stripe_webhook(Context& ctx, const Request& req);   // POST /api/stripe/webhook (Stripe)
Response payments_api(Context& ctx, const Request& req);     // /api/payments...
Response receipts_page(Context& ctx, const Request& req);    // /receipts/{number}

}  // namespace coach::web
