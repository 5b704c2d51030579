/* cgi-bin/cal_availability.cpp: serves /api/cal/availability (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_availability", coach::web::cal_availability); }
