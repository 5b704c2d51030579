/* cgi-bin/cal_booking_test.cpp: serves /cal-booking-test, the booking flow with raw Cal.com exchanges. */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_booking_test", coach::web::cal_booking_test); }
