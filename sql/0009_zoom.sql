-- 0009_zoom.sql: Zoom (lib/meetings, lib/zoom_client; issue 6).
--
-- zoom_token: the account's Server-to-Server OAuth token, one row (id = 1),
-- shared by every process. A refresh holds this row FOR UPDATE, so only one
-- process fetches a new token at a time; the token is sealed (AES-256-GCM,
-- aad "zoom_token:1") like the Cal.com tokens.
CREATE TABLE IF NOT EXISTS zoom_token (
  id                TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  access_token_enc  TEXT NULL,
  expires_at_ms     BIGINT NOT NULL DEFAULT 0,
  scope             VARCHAR(2000) NULL,
  api_url           VARCHAR(255) NULL,
  n_fetches         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_fetched_at   DATETIME(3) NULL,
  last_error        VARCHAR(500) NULL,
  last_error_at     DATETIME(3) NULL,
  updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;
INSERT IGNORE INTO zoom_token (id) VALUES (1);

-- zoom_meetings: one row per booking chain (chain_root_uid, see
-- booking_hooks::chain_root) and one per test meeting (purpose 'test').
--   provider 'ours'   : a meeting on our Zoom account (state pending ->
--                       created, failed while retrying, deleted on cancel;
--                       'skipped' when Zoom is not configured)
--   provider 'calcom' : the coach connected Zoom inside Cal.com; join_url is
--                       Cal.com's, we create nothing (state 'external').
-- start_url carries the host's ZAK: sealed at rest, shown only to the coach
-- and admins on the test page.
CREATE TABLE IF NOT EXISTS zoom_meetings (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  purpose            ENUM('booking','test') NOT NULL DEFAULT 'booking',
  chain_root_uid     VARCHAR(191) NULL,
  booking_uid        VARCHAR(191) NULL,                -- the chain's newest booking the meeting matches
  provider           ENUM('ours','calcom') NOT NULL DEFAULT 'ours',
  state              ENUM('pending','created','failed','deleted','external','skipped') NOT NULL DEFAULT 'pending',
  coach_user_id      BIGINT UNSIGNED NULL,
  created_by_user_id BIGINT UNSIGNED NULL,              -- test meetings: who made it
  zoom_meeting_id    BIGINT NULL,
  zoom_uuid          VARCHAR(64) NULL,
  host_id            VARCHAR(64) NULL,
  topic              VARCHAR(200) NULL,
  start_utc          DATETIME NULL,
  duration_min       INT NULL,
  time_zone          VARCHAR(64) NULL,
  agenda             VARCHAR(2000) NULL,
  settings_json      VARCHAR(1000) NULL,
  join_url           VARCHAR(1000) NULL,
  start_url_enc      TEXT NULL,
  cal_location_uid   VARCHAR(191) NULL,                -- booking whose Cal.com location we set to join_url
  zoom_status        VARCHAR(32) NULL,                 -- waiting / started / ended (webhooks)
  started_at         DATETIME(3) NULL,
  ended_at           DATETIME(3) NULL,
  n_attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  last_error         VARCHAR(500) NULL,
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_zoom_chain (chain_root_uid),
  KEY ix_zoom_meeting (zoom_meeting_id),
  KEY ix_zoom_booking (booking_uid),
  KEY ix_zoom_state (state, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- zoom_webhook_events: the inbox of verified Zoom deliveries, stored before
-- the 200. dedupe_key = sha256(event, meeting uuid/id, participant, event_ts)
-- (Zoom delivers at least once); applied inline, else by the worker through
-- a "zoom_webhook" job with backoff.
CREATE TABLE IF NOT EXISTS zoom_webhook_events (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dedupe_key         CHAR(64) NOT NULL,
  event              VARCHAR(64) NOT NULL,
  event_ts           BIGINT NOT NULL DEFAULT 0,
  zoom_meeting_id    BIGINT NULL,
  meeting_uuid       VARCHAR(64) NULL,
  participant_name   VARCHAR(200) NULL,
  participant_email  VARCHAR(254) NULL,
  booking_uid        VARCHAR(191) NULL,                -- filled when applied to a booking's meeting
  body               MEDIUMTEXT NOT NULL,
  status             ENUM('received','applied','ignored','failed') NOT NULL DEFAULT 'received',
  n_attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  last_error         VARCHAR(500) NULL,
  received_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  applied_at         DATETIME(3) NULL,
  UNIQUE KEY uq_zoomwh_key (dedupe_key),
  KEY ix_zoomwh_meeting (zoom_meeting_id),
  KEY ix_zoomwh_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
