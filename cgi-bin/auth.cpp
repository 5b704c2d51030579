/* cgi-bin/auth.cpp: serves /sign-in and /sign-out (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("auth", coach::web::auth); }
