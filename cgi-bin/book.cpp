/* cgi-bin/book.cpp: serves /book and /book/confirmation (FastCGI, or plain CGI when stdin is not a socket). */
#include "web.hpp"

int main() { return coach::web::run_endpoint("book", coach::web::book); }
