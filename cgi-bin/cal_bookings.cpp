/* cgi-bin/cal_bookings.cpp: serves /api/cal/bookings (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_bookings", coach::web::cal_bookings); }
