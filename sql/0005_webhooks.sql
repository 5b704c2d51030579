-- 0005_webhooks.sql: Cal.com webhooks: the subscriptions we created (secrets
-- sealed at rest), the inbox every verified delivery lands in before we answer
-- 2xx (unique idempotency key; applied once, retried with backoff, parked as
-- a dead letter), per-hour counters (signature failures), a lock row per
-- (scope, owner) for the one-call default setup, and the CalBooking columns
-- that webhooks and reconciliation fill in.

CREATE TABLE IF NOT EXISTS webhook_subscriptions (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  cal_webhook_id      VARCHAR(64)  NOT NULL,            -- Cal.com's id (a UUID string)
  scope               ENUM('user','platform') NOT NULL,
  owner_user_id       BIGINT UNSIGNED NULL,              -- the coach (user scope); NULL = platform
  owner_key           BIGINT UNSIGNED NOT NULL DEFAULT 0,-- owner_user_id or 0, for the unique key
  subscriber_url      VARCHAR(1000) NOT NULL,
  url_sha256          CHAR(64) NOT NULL,                 -- hex sha256(subscriber_url), for the unique key
  triggers_json       TEXT NOT NULL,                     -- ["BOOKING_CREATED", ...]
  secret_enc          TEXT NULL,                         -- crypto::seal, aad "webhook_subscription:<cal id>"
  active              TINYINT(1) NOT NULL DEFAULT 1,
  is_default          TINYINT(1) NOT NULL DEFAULT 0,     -- made by the one-call default setup
  created_by_user_id  BIGINT UNSIGNED NULL,
  last_delivery_at    DATETIME(3) NULL,                  -- last delivery verified with this secret
  n_deliveries        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_whsub_cal (cal_webhook_id),
  UNIQUE KEY uq_whsub_owner_url (scope, owner_key, url_sha256),
  KEY ix_whsub_owner (owner_user_id),
  KEY ix_whsub_active (active)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every verified delivery, stored before we answer. status: pending (not yet
-- applied; the receiver applies at once, the worker after next_attempt_at),
-- retry (an apply failed; due again at next_attempt_at), done, dead.
CREATE TABLE IF NOT EXISTS webhook_inbox (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  idempotency_key     VARCHAR(191) NOT NULL,             -- TRIGGER:sha256(event without createdAt) | MEETING_*:booking id
  trigger_event       VARCHAR(64)  NOT NULL,
  booking_uid         VARCHAR(191) NULL,
  cal_booking_id      BIGINT NULL,
  coach_user_id       BIGINT UNSIGNED NULL,              -- resolved when applied
  subscription_id     BIGINT UNSIGNED NULL,              -- whose secret verified it; NULL = configured secret
  body                MEDIUMTEXT NOT NULL,               -- the raw body, byte for byte
  body_bytes          INT UNSIGNED NOT NULL,
  event_created_at    DATETIME(3) NULL,                  -- Cal.com's createdAt (send time) when present
  status              ENUM('pending','retry','done','dead') NOT NULL DEFAULT 'pending',
  outcome             VARCHAR(16) NULL,                  -- applied | stale | recorded | ignored
  attempts            INT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts        INT UNSIGNED NOT NULL DEFAULT 8,
  next_attempt_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  locked_by           VARCHAR(128) NULL,
  locked_until        DATETIME(3) NULL,
  last_error          VARCHAR(1000) NULL,
  apply_count         INT UNSIGNED NOT NULL DEFAULT 0,   -- times applied (1 unless replayed)
  duplicate_count     INT UNSIGNED NOT NULL DEFAULT 0,   -- deliveries of the same key after the first
  last_duplicate_at   DATETIME(3) NULL,
  received_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  processed_at        DATETIME(3) NULL,
  latency_ms          INT UNSIGNED NULL,                 -- processed_at - received_at
  UNIQUE KEY uq_whinbox_key (idempotency_key),
  KEY ix_whinbox_due (status, next_attempt_at),
  KEY ix_whinbox_received (received_at),
  KEY ix_whinbox_trigger (trigger_event, received_at),
  KEY ix_whinbox_uid (booking_uid),
  KEY ix_whinbox_coach (coach_user_id, received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Small per-hour counters (name = "signature_failure", ...).
CREATE TABLE IF NOT EXISTS webhook_counters (
  name         VARCHAR(64) NOT NULL,
  bucket_hour  DATETIME NOT NULL,
  n            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (name, bucket_hour)
) ENGINE=InnoDB;

-- One row per (scope, owner): the default setup holds it FOR UPDATE (and
-- bumps n, so two Galera nodes conflict at commit) while it talks to Cal.com.
CREATE TABLE IF NOT EXISTS webhook_setup_lock (
  lock_key    VARCHAR(64) NOT NULL PRIMARY KEY,   -- "user:42" | "platform"
  n           BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;

-- What webhooks and reconciliation tell us about a booking. 'unknown' is a
-- placeholder status for a uid we have only heard about indirectly (a no-show
-- or payment event before its booking event): no times yet, never busy.
ALTER TABLE CalBooking
  MODIFY status ENUM('accepted','pending','cancelled','rejected','unknown') NOT NULL DEFAULT 'accepted',
  MODIFY start_utc DATETIME NULL,
  MODIFY end_utc DATETIME NULL,
  ADD COLUMN title                 VARCHAR(255)  NULL,
  ADD COLUMN organizer_cal_user_id BIGINT        NULL,
  ADD COLUMN organizer_email       VARCHAR(254)  NULL,
  ADD COLUMN attendee_email        VARCHAR(254)  NULL,
  ADD COLUMN attendee_name         VARCHAR(200)  NULL,
  ADD COLUMN attendee_time_zone    VARCHAR(64)   NULL,
  ADD COLUMN location              VARCHAR(1000) NULL,   -- stored location, e.g. integrations:zoom
  ADD COLUMN join_url              VARCHAR(1000) NULL,   -- video call URL when known
  ADD COLUMN rescheduled_to_uid    VARCHAR(191)  NULL,
  ADD COLUMN cancellation_reason   VARCHAR(1000) NULL,
  ADD COLUMN rejection_reason      VARCHAR(1000) NULL,
  ADD COLUMN payment_status        ENUM('none','initiated','paid') NOT NULL DEFAULT 'none',
  ADD COLUMN meeting_started_at    DATETIME(3)   NULL,
  ADD COLUMN meeting_ended_at      DATETIME(3)   NULL,
  ADD COLUMN attendee_no_show      TINYINT(1)    NULL,
  ADD COLUMN host_no_show          TINYINT(1)    NULL,
  ADD COLUMN no_show_version_at    DATETIME(3)   NULL,   -- Cal.com time of the newest no-show info applied
  ADD COLUMN recording_url         VARCHAR(1000) NULL,
  ADD COLUMN last_source           VARCHAR(64)   NULL,   -- trigger (or "reconcile") of the last change
  ADD COLUMN n_changes             INT UNSIGNED NOT NULL DEFAULT 0,
  ADD KEY ix_calbooking_organizer (organizer_cal_user_id),
  ADD KEY ix_calbooking_from (rescheduled_from_uid);
