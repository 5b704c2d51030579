/* cgi-bin/coach_calendar.cpp: serves /coach/calendar (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("coach_calendar", coach::web::coach_calendar); }
