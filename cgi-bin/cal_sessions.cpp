/* cgi-bin/cal_sessions.cpp: serves /api/cal/sessions (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_sessions", coach::web::cal_sessions); }
