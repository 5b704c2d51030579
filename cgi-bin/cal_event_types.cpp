/* cgi-bin/cal_event_types.cpp: serves /api/cal/event-types (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_event_types", coach::web::cal_event_types); }
