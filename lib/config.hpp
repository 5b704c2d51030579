/* config.hpp: the process configuration, read once at start from the flat
 * key=value file named by $COACH_CONFIG (cgitrc style), with environment
 * overrides COACH_<KEY_IN_UPPER_SNAKE>. Secrets are read from the files that
 * the *-file keys name; they never appear in the config file itself. */
#pragma once
#include <map>
#include <string>
#include <vector>

#include "result.hpp"

namespace coach {

struct Config {
  std::string mode = "local";          // local | production
  std::string public_base_url;         // http://127.0.0.1:8080
  std::string log_file;                // "" = stderr

  std::string db_host = "127.0.0.1";
  int db_port = 3306;
  std::string db_name = "coach";
  std::string db_user = "coach";
  std::string db_password;             // from db-password-file

  std::string token_encryption_key;    // 32 raw bytes, from token-encryption-key-file (hex)
  std::string csrf_secret;             // raw bytes

  std::string cal_api_base_url;        // https://api.cal.com
  std::string cal_oauth_client_id;
  std::string cal_oauth_client_secret;
  std::string cal_webhook_secret;
  std::string cal_oauth2_authorize_url;
  std::string cal_oauth2_client_id;
  std::string cal_oauth2_client_secret;

  std::string clerk_jwks_url;
  std::string clerk_issuer;
  std::vector<std::string> clerk_authorized_parties;
  std::string clerk_sign_in_url;
  std::string clerk_sign_out_url;

  std::string zoom_api_base_url, zoom_oauth_token_url, zoom_account_id, zoom_client_id;
  std::string zoom_client_secret, zoom_webhook_secret;
  std::string stripe_api_base_url, stripe_secret_key, stripe_webhook_secret;
  /* Payments (lib/payments.hpp): platform refund policy "24h:100,2h:50"
   * (hours before the start : percent; after the last window nothing), tax
   * included in prices (basis points, 0 = no tax line) and its name, and the
   * seller line printed on receipts. */
  std::string refund_policy = "24h:100,2h:50";
  int tax_rate_bps = 0;
  std::string tax_name = "Tax";
  std::string invoice_issuer = "Coaching Marketplace";

  std::string smtp_url;
  std::string mail_from;

  int http_timeout_ms = 10000;         // upstream API calls
  int token_refresh_margin_s = 300;    // refresh access tokens this long before expiry
};

/* Parses config text (no file I/O except the *-file secrets it names).
 * Fails naming the first missing or malformed key. */
Result<Config> parse_config(const std::string& text, const std::map<std::string, std::string>& env);

/* Reads $COACH_CONFIG (or the given path) and the environment overrides. */
Result<Config> load_config(const std::string& path = "");

/* load_config, or print "config: <message>" to stderr and exit(78). */
Config load_config_or_die();

/* All keys the parser knows, for documentation and for rejecting typos. */
const std::vector<std::string>& known_config_keys();

}  // namespace coach
