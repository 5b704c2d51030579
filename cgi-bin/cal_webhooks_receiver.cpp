/* cgi-bin/cal_webhooks_receiver.cpp: serves POST /api/cal/webhooks/receiver, Cal.com's webhook deliveries
 * (bodies over 256 KiB are refused with 413 before the handler runs). */
#include "web.hpp"
#include "webhooks.hpp"

int main() {
  return coach::web::run_endpoint_capped("cal_webhooks_receiver", coach::web::cal_webhooks_receiver,
                                         coach::webhooks::kMaxBodyBytes);
}
