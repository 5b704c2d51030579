/* cgi-bin/health.cpp: serves /healthz (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("health", coach::web::health); }
