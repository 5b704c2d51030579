/* cgi-bin/cal_zoom.cpp: serves /api/cal/zoom... (Zoom status, credential check, test meetings, events). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("cal_zoom", coach::web::cal_zoom); }
