/* cgi-bin/cal_webhook_monitor.cpp: serves /cal-webhook-monitor (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_webhook_monitor", coach::web::cal_webhook_monitor); }
