/* cgi-bin/zoom_webhook.cpp: serves POST /api/zoom/webhook (Zoom event deliveries; bodies over 256 KiB -> 413). */
#include "meetings.hpp"
#include "web.hpp"

int main() {
  return coach::web::run_endpoint_capped("zoom_webhook", coach::web::zoom_webhook, coach::meetings::kMaxWebhookBody);
}
