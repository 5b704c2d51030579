/* cgi-bin/stripe_webhook.cpp: serves POST /api/stripe/webhook (Stripe's signed event deliveries; bodies over 256 KiB -> 413). */
#include "web.hpp"

int main() { return coach::web::run_endpoint_capped("stripe_webhook", coach::web::stripe_webhook, 256 * 1024); }
