/* cgi-bin/cal_oauth.cpp: serves /api/cal/oauth/connect and /api/cal/oauth/callback (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_oauth", coach::web::cal_oauth); }
