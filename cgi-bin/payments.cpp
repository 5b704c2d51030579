/* cgi-bin/payments.cpp: serves /api/payments (payment status, refund quotes, admin refunds). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("payments", coach::web::payments_api); }
