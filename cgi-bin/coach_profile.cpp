/* cgi-bin/coach_profile.cpp: serves /coaches/{id} (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("coach_profile", coach::web::coach_profile); }
