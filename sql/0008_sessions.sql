-- 0008_sessions.sql: coaching sessions (lib/sessions.*, lib/session_reminders.*).
--
-- CoachingSession: one row per reschedule chain (root_uid = the chain's first
-- Cal.com uid, booking_hooks::chain_root; current_uid = its newest booking).
-- status is recomputed from the evidence below and the chain head's CalBooking
-- row on every change (sessions::refresh), never set blindly, so repeated or
-- out-of-order events converge. The ladder (see sessions.hpp):
--   scheduled -> in_progress -> completed | no_show ; scheduled -> cancelled.
CREATE TABLE IF NOT EXISTS CoachingSession (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  root_uid           VARCHAR(191) NOT NULL,
  current_uid        VARCHAR(191) NOT NULL,
  coach_user_id      BIGINT UNSIGNED NULL,
  agent_user_id      BIGINT UNSIGNED NULL,
  start_utc          DATETIME NULL,                   -- of the chain head
  end_utc            DATETIME NULL,
  status             ENUM('scheduled','in_progress','completed','cancelled','no_show') NOT NULL DEFAULT 'scheduled',
  started_at         DATETIME(3) NULL,                -- earliest start/join evidence
  ended_at           DATETIME(3) NULL,                -- latest end evidence
  coach_joined_at    DATETIME(3) NULL,
  coach_left_at      DATETIME(3) NULL,
  agent_joined_at    DATETIME(3) NULL,
  agent_left_at      DATETIME(3) NULL,
  coach_absent       TINYINT(1) NOT NULL DEFAULT 0,   -- Cal.com absentHost
  agent_absent       TINYINT(1) NOT NULL DEFAULT 0,   -- Cal.com attendee no-show or our no-show action
  outcome            ENUM('completed','no_show') NULL,-- the latest explicit action
  outcome_by_user_id BIGINT UNSIGNED NULL,
  outcome_at         DATETIME(3) NULL,
  completed_at       DATETIME(3) NULL,
  cancelled_at       DATETIME(3) NULL,
  n_changes          INT UNSIGNED NOT NULL DEFAULT 0,
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_session_root (root_uid),
  KEY ix_session_current (current_uid),
  KEY ix_session_coach (coach_user_id, start_utc),
  KEY ix_session_agent (agent_user_id, start_utc)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every piece of meeting evidence and every explicit action, once:
-- (source, source_event_id) is unique, so a repeated webhook or a double
-- click is a no-op. kind marked_* rows are the explicit actions.
CREATE TABLE IF NOT EXISTS session_events (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id         BIGINT UNSIGNED NOT NULL,
  kind               ENUM('meeting_started','meeting_ended','participant_joined','participant_left',
                          'marked_completed','marked_no_show') NOT NULL,
  at_utc             DATETIME(3) NOT NULL,
  participant_role   ENUM('coach','agent','other') NULL,
  participant        VARCHAR(254) NULL,               -- e-mail or name as reported
  source             VARCHAR(32) NOT NULL,            -- zoom | calcom | action | ...
  source_event_id    VARCHAR(191) NOT NULL,
  actor_user_id      BIGINT UNSIGNED NULL,            -- explicit actions: who
  booking_uid        VARCHAR(191) NULL,               -- the uid the evidence named
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_sevent_source (source, source_event_id),
  KEY ix_sevent_session (session_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Notes: private (coach and admins only) or shared (the agent sees them too).
-- version counts edits; an edit names the version it was based on.
CREATE TABLE IF NOT EXISTS SessionNote (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id         BIGINT UNSIGNED NOT NULL,
  author_user_id     BIGINT UNSIGNED NOT NULL,
  visibility         ENUM('private','shared') NOT NULL,
  body               TEXT NOT NULL,
  version            INT UNSIGNED NOT NULL DEFAULT 1,
  updated_by_user_id BIGINT UNSIGNED NULL,
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_note_session (session_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every version of every note (version 1 is the note as created).
CREATE TABLE IF NOT EXISTS SessionNoteRevision (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note_id            BIGINT UNSIGNED NOT NULL,
  version            INT UNSIGNED NOT NULL,
  visibility         ENUM('private','shared') NOT NULL,
  body               TEXT NOT NULL,
  edited_by_user_id  BIGINT UNSIGNED NOT NULL,
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_note_rev (note_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Reminder e-mails the SMTP server accepted, by reminder key
-- ("reminder:<root>:<start>:<24h|1h>:<coach|agent>"): checked before sending.
CREATE TABLE IF NOT EXISTS session_reminder_deliveries (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  reminder_key       VARCHAR(191) NOT NULL,
  job_id             BIGINT UNSIGNED NOT NULL,
  recipient          VARCHAR(254) NOT NULL,
  sent_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  message_id         VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_reminder_key (reminder_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Worker watermark (sessions::sync_changed_bookings): CalBooking rows whose
-- updated_at is past it are run through sessions::on_booking_changed, so a
-- change made by a path that does not call booking_hooks (e.g. the webhook
-- apply path) still reaches its session within seconds.
CREATE TABLE IF NOT EXISTS session_sync_state (
  id                 TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  booking_watermark  DATETIME(3) NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO session_sync_state (id, booking_watermark) VALUES (1, '1970-01-01 00:00:01.000');

-- Sessions for bookings recorded before this migration: chain heads whose
-- root is known without walking the chain (our bookings carry it in
-- booking_meta.ics_uid; a booking never rescheduled is its own root). Others
-- are created by the next change of their booking (sessions::on_booking_changed).
INSERT IGNORE INTO CoachingSession (root_uid, current_uid, coach_user_id, agent_user_id, start_utc, end_utc, status, cancelled_at)
SELECT COALESCE(NULLIF(SUBSTRING_INDEX(m.ics_uid, '@', 1), ''), b.cal_uid), b.cal_uid, b.coach_user_id,
       COALESCE(b.agent_user_id, m.agent_user_id), b.start_utc, b.end_utc,
       IF(b.status IN ('cancelled','rejected'), 'cancelled', 'scheduled'),
       IF(b.status IN ('cancelled','rejected'), b.updated_at, NULL)
FROM CalBooking b LEFT JOIN booking_meta m ON m.cal_uid = b.cal_uid
WHERE (b.rescheduled_to_uid IS NULL OR b.rescheduled_to_uid = '')
  AND (m.rescheduled_to_uid IS NULL OR m.rescheduled_to_uid = '')
  AND (m.ics_uid IS NOT NULL OR b.rescheduled_from_uid IS NULL OR b.rescheduled_from_uid = '')
  AND b.start_utc IS NOT NULL;
