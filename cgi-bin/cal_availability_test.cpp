/* cgi-bin/cal_availability_test.cpp: serves /cal-availability-test (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_availability_test", coach::web::cal_availability_test); }
