/* cgi-bin/receipts.cpp: serves /receipts/{number} (printable payment receipts). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("receipts", coach::web::receipts_page); }
