/* html.cpp: escaping and Mustache rendering (kainjow/mustache). */
#include "html.hpp"

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <kainjow/mustache.hpp>
#include <unistd.h>

namespace coach::html {
namespace mu = kainjow::mustache;

std::string text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string attr(const std::string& s) { return text(s); }

std::string template_dir() {
  if (const char* d = std::getenv("COACH_TEMPLATE_DIR"); d && *d) return d;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, static_cast<size_t>(n));
    std::string dir = exe.substr(0, exe.rfind('/'));
    for (int i = 0; i < 3 && dir.rfind('/') != std::string::npos; ++i) dir = dir.substr(0, dir.rfind('/'));
    std::string cand = dir + "/templates";
    if (access((cand + "/layout.mustache").c_str(), R_OK) == 0) return cand;
  }
  return "templates";
}

namespace {
std::mutex g_mu;
std::map<std::string, std::string> g_cache;

const std::string& load(const std::string& name) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_cache.find(name);
  if (it != g_cache.end()) return it->second;
  std::string path = template_dir() + "/" + name + ".mustache";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("template not found: " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return g_cache.emplace(name, ss.str()).first->second;
}

mu::data to_data(const Json::Value& v) {
  if (v.isObject()) {
    mu::data d{mu::data::type::object};
    for (const auto& k : v.getMemberNames()) d.set(k, to_data(v[k]));
    return d;
  }
  if (v.isArray()) {
    mu::data l{mu::data::type::list};
    for (const auto& e : v) l.push_back(to_data(e));
    return l;
  }
  if (v.isBool()) return v.asBool() ? mu::data{mu::data::type::bool_true} : mu::data{mu::data::type::bool_false};
  if (v.isNull()) return mu::data{mu::data::type::bool_false};
  if (v.isString()) return mu::data{v.asString()};
  if (v.isInt64()) return mu::data{std::to_string(v.asInt64())};
  if (v.isUInt64()) return mu::data{std::to_string(v.asUInt64())};
  std::ostringstream os;
  os << v.asDouble();
  return mu::data{os.str()};
}

std::string render_text(const std::string& name, const std::string& tmpl_text, const mu::data& d) {
  mu::mustache tmpl{tmpl_text};
  if (!tmpl.is_valid()) throw std::runtime_error("template " + name + ": " + tmpl.error_message());
  std::string out = tmpl.render(d);
  if (!tmpl.is_valid()) throw std::runtime_error("template " + name + ": " + tmpl.error_message());
  return out;
}
}  // namespace

std::string render(const std::string& name, const Json::Value& ctx) {
  return render_text(name, load(name), to_data(ctx));
}

std::string render_page(const std::string& name, const std::string& title, const Json::Value& ctx) {
  std::string body = render(name, ctx);
  Json::Value layout = ctx;
  layout["title"] = title;
  mu::data d = to_data(layout);
  d.set("body", body);
  return render_text("layout", load("layout"), d);
}

std::string error_page(int status, const std::string& code, const std::string& message,
                       const std::string& request_id) {
  Json::Value ctx;
  ctx["status"] = status;
  ctx["code"] = code;
  ctx["message"] = message;
  ctx["request_id"] = request_id;
  ctx["sign_in_url"] = "/sign-in";
  try {
    return render_page("error", "Error " + std::to_string(status), ctx);
  } catch (...) {
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>Error " + std::to_string(status) +
           "</title></head><body><h1>Error " + std::to_string(status) + "</h1><p>" + text(message) +
           "</p><p><small>" + text(code) + " " + text(request_id) + "</small></p></body></html>\n";
  }
}

}  // namespace coach::html
