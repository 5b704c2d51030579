/* cgi-bin/cal_webhook_management.cpp: serves /cal-webhook-management (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_webhook_management", coach::web::cal_webhook_management); }
