/* cgi-bin/cal_coaches.cpp: serves /api/cal/coaches (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_coaches", coach::web::cal_coaches); }
