-- 0004_availability.sql: local mirrors of each coach's Cal.com schedules and
-- event types (session types), the bookings we know of (busy times for the
-- local slot engine), and the free-slot cache with its per-coach version.

CREATE TABLE IF NOT EXISTS CalSchedule (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id            BIGINT UNSIGNED NOT NULL,
  cal_schedule_id    BIGINT NOT NULL,
  name               VARCHAR(200) NOT NULL,
  time_zone          VARCHAR(64)  NOT NULL,
  is_default         TINYINT(1)   NOT NULL DEFAULT 0,
  availability_json  TEXT NOT NULL,   -- Cal.com "availability" array
  overrides_json     TEXT NOT NULL,   -- Cal.com "overrides" array
  synced_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_calschedule_cal (cal_schedule_id),
  KEY ix_calschedule_user (user_id, is_default),
  CONSTRAINT fk_calschedule_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A coach's coaching session types: Cal.com event types plus our price.
CREATE TABLE IF NOT EXISTS EventType (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id              BIGINT UNSIGNED NOT NULL,
  cal_event_type_id    BIGINT NOT NULL,
  title                VARCHAR(255) NOT NULL,
  slug                 VARCHAR(255) NOT NULL,
  description          TEXT NULL,
  length_min           INT NOT NULL,
  before_buffer_min    INT NOT NULL DEFAULT 0,
  after_buffer_min     INT NOT NULL DEFAULT 0,
  minimum_notice_min   INT NOT NULL DEFAULT 0,
  slot_interval_min    INT NULL,
  cal_schedule_id      BIGINT NULL,
  locations_json       TEXT NULL,
  booking_fields_json  TEXT NULL,
  limits_json          TEXT NULL,      -- bookingLimitsCount, bookingWindow
  price_minor          BIGINT NOT NULL DEFAULT 0,   -- our price, in minor units
  currency             CHAR(3) NOT NULL DEFAULT 'USD',
  hidden               TINYINT(1) NOT NULL DEFAULT 0,
  synced_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_eventtype_cal (cal_event_type_id),
  UNIQUE KEY uq_eventtype_slug (user_id, slug),
  CONSTRAINT fk_eventtype_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Bookings as Cal.com reports them (webhooks, our own calls, reconciliation).
CREATE TABLE IF NOT EXISTS CalBooking (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  cal_uid            VARCHAR(191) NOT NULL,
  cal_booking_id     BIGINT NULL,
  coach_user_id      BIGINT UNSIGNED NULL,
  agent_user_id      BIGINT UNSIGNED NULL,
  cal_event_type_id  BIGINT NULL,
  status             ENUM('accepted','pending','cancelled','rejected') NOT NULL DEFAULT 'accepted',
  start_utc          DATETIME NOT NULL,
  end_utc            DATETIME NOT NULL,
  rescheduled_from_uid VARCHAR(191) NULL,
  raw_json           MEDIUMTEXT NULL,
  cal_updated_at     DATETIME(3) NULL,   -- newest Cal.com version applied
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_calbooking_uid (cal_uid),
  KEY ix_calbooking_coach_time (coach_user_id, status, start_utc)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every booking, schedule or session-type change of a coach bumps the
-- version; cached slot answers of an older version are never served.
CREATE TABLE IF NOT EXISTS coach_cache_version (
  user_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  version   BIGINT UNSIGNED NOT NULL DEFAULT 1
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS slot_cache (
  cache_key   CHAR(64) NOT NULL PRIMARY KEY,   -- sha256(coach, type, window, zone, duration)
  user_id     BIGINT UNSIGNED NOT NULL,
  version     BIGINT UNSIGNED NOT NULL,
  body        MEDIUMTEXT NOT NULL,             -- JSON: the days and slots
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at  DATETIME(3) NOT NULL,
  KEY ix_slot_cache_user (user_id),
  KEY ix_slot_cache_expiry (expires_at)
) ENGINE=InnoDB;
