/* cgi-bin/cal_webhooks.cpp: serves /api/cal/webhooks (management, inbox, stats, replay; FastCGI or CGI). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_webhooks", coach::web::cal_webhooks); }
