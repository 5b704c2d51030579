/* cgi-bin/cal_oauth_test.cpp: serves /cal-oauth-test (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_oauth_test", coach::web::cal_oauth_test); }
