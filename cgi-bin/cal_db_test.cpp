/* cgi-bin/cal_db_test.cpp: serves /cal-db-test (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_db_test", coach::web::cal_db_test); }
