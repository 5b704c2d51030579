/* cgi-bin/home.cpp: serves / (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("home", coach::web::home); }
