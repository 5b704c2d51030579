/* html.hpp: escaping and page rendering. Templates live in templates/NAME.mustache;
 * {{name}} is always HTML-escaped, {{{name}}} (raw) is reserved for markup we
 * built ourselves and stands out in review. */
#pragma once
#include <string>

#include <json/json.h>

namespace coach::html {

std::string text(const std::string& s);   // escape for element content
std::string attr(const std::string& s);   // escape for a quoted attribute value

/* Directory of the templates: $COACH_TEMPLATE_DIR, else ../../../templates next
 * to the running binary (build/<variant>/<kind>/<binary>), else ./templates. */
std::string template_dir();

/* Renders templates/<name>.mustache with the data (a JSON object; arrays become
 * sections), then wraps it in templates/layout.mustache with the title and the
 * nav (signed-in user, if ctx has "user"). Throws std::runtime_error if the
 * template is missing or malformed: that is a deploy error, caught by serve(). */
std::string render_page(const std::string& name, const std::string& title, const Json::Value& ctx);

/* Renders one template without the layout. */
std::string render(const std::string& name, const Json::Value& ctx);

/* The error page (never throws: falls back to built-in markup). */
std::string error_page(int status, const std::string& code, const std::string& message,
                       const std::string& request_id);

}  // namespace coach::html
