/* cgi-bin/cal_zoom_integration_test.cpp: serves the /cal-zoom-integration-test page. */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_zoom_integration_test", coach::web::cal_zoom_integration_test); }
