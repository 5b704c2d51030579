/* cgi-bin/cal_event_types_test.cpp: serves /cal-event-types-test (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_event_types_test", coach::web::cal_event_types_test); }
