/* cgi-bin/cal_webhook_test.cpp: serves /cal-webhook-test (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_webhook_test", coach::web::cal_webhook_test); }
