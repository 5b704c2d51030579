/* cgi-bin/my_sessions.cpp: serves /my/sessions and /my/sessions/{uid}[/reschedule|/cancel]. */
#include "web.hpp"

int main() { return coach::web::run_endpoint("my_sessions", coach::web::my_sessions); }
