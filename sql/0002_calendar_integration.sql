-- 0002_calendar_integration.sql: a coach's Cal.com account (a managed user of
-- our OAuth client, or an existing account connected through OAuth2) and its
-- tokens, encrypted at rest (AES-256-GCM, "v1.<nonce>.<ciphertext+tag>").
CREATE TABLE IF NOT EXISTS CalendarIntegration (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id               BIGINT UNSIGNED NOT NULL,
  provider              ENUM('cal_managed','cal_oauth2') NOT NULL DEFAULT 'cal_managed',
  status                ENUM('pending','active','error','disconnected') NOT NULL DEFAULT 'pending',
  cal_user_id           BIGINT NULL,
  cal_username          VARCHAR(255) NULL,
  cal_email             VARCHAR(254) NULL,
  time_zone             VARCHAR(64)  NULL,
  default_schedule_id   BIGINT NULL,
  access_token_enc      TEXT NULL,
  refresh_token_enc     TEXT NULL,
  access_expires_at_ms  BIGINT NULL,
  refresh_expires_at_ms BIGINT NULL,
  token_version         INT UNSIGNED NOT NULL DEFAULT 0,
  refresh_count         INT UNSIGNED NOT NULL DEFAULT 0,
  last_refreshed_at     DATETIME(3) NULL,
  last_error            VARCHAR(500) NULL,
  created_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_calint_user (user_id),
  UNIQUE KEY uq_calint_cal_user (provider, cal_user_id),
  KEY ix_calint_expiry (status, access_expires_at_ms),
  CONSTRAINT fk_calint_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- OAuth2 "connect an existing Cal.com account": one row per started flow; the
-- state is single-use and short-lived.
CREATE TABLE IF NOT EXISTS oauth_states (
  state       CHAR(64) NOT NULL PRIMARY KEY,
  user_id     BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at  DATETIME(3) NOT NULL,
  used_at     DATETIME(3) NULL,
  KEY ix_oauth_states_user (user_id),
  CONSTRAINT fk_oauth_states_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
