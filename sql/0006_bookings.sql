-- 0006_bookings.sql: bookings made through our API (lib/bookings.*).
--
-- booking_intents: one row per attempt to take a slot (create or reschedule),
-- inserted in its own short transaction BEFORE Cal.com is called. It is our
-- guard against double booking and our idempotency record:
--  * active_start_utc equals start_utc while the intent is pending and is set
--    to NULL when it is done, failed or expired, so UNIQUE (coach_user_id,
--    active_start_utc) allows one in-flight attempt per coach and start (NULLs
--    never collide): the loser of a race gets 409 slot_taken at once.
--  * UNIQUE (agent_user_id, idempotency_key): a repeated create with the same
--    client key finds its intent (done: the same booking; failed: retried;
--    pending: still in flight). Reschedules namespace their key as
--    "rs:<old uid>:<key>". NULL = the client sent no key.
CREATE TABLE IF NOT EXISTS booking_intents (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind               ENUM('create','reschedule') NOT NULL DEFAULT 'create',
  agent_user_id      BIGINT UNSIGNED NOT NULL,          -- the booking's agent
  requested_by_user_id BIGINT UNSIGNED NOT NULL,        -- who asked (agent, coach, admin)
  coach_user_id      BIGINT UNSIGNED NOT NULL,
  cal_event_type_id  BIGINT NOT NULL,
  start_utc          DATETIME NOT NULL,
  end_utc            DATETIME NOT NULL,
  active_start_utc   DATETIME NULL,                     -- = start_utc while pending, else NULL
  idempotency_key    VARCHAR(191) NULL,
  request_hash       CHAR(64) NOT NULL,                 -- hex sha256 of the normalized request
  from_uid           VARCHAR(191) NULL,                 -- reschedule: the booking being moved
  state              ENUM('pending','done','failed') NOT NULL DEFAULT 'pending',
  reservation_uid    VARCHAR(64) NULL,                  -- Cal.com slot reservation, deleted when done
  booking_uid        VARCHAR(191) NULL,                 -- Cal.com's uid once it booked
  last_error         VARCHAR(500) NULL,                 -- code: message of the last failure
  n_attempts         INT UNSIGNED NOT NULL DEFAULT 1,
  expires_at         DATETIME(3) NOT NULL,              -- a pending intent older than this is abandoned
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_intent_slot (coach_user_id, active_start_utc),
  UNIQUE KEY uq_intent_key (agent_user_id, idempotency_key),
  KEY ix_intent_booking (booking_uid),
  KEY ix_intent_state (state, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Our side of a booking (CalBooking holds Cal.com's view): the agent's
-- answers and zone, the iCalendar identity of the e-mails (ics_uid is shared
-- by a whole reschedule chain, ics_sequence counts its changes), and who
-- cancelled. One row per Cal.com uid we booked, rescheduled or cancelled.
CREATE TABLE IF NOT EXISTS booking_meta (
  cal_uid            VARCHAR(191) NOT NULL PRIMARY KEY,
  intent_id          BIGINT UNSIGNED NULL,
  agent_user_id      BIGINT UNSIGNED NULL,
  coach_user_id      BIGINT UNSIGNED NULL,
  cal_event_type_id  BIGINT NULL,
  attendee_time_zone VARCHAR(64) NULL,
  responses_json     TEXT NULL,                         -- {slug: value} as the agent sent them
  ics_uid            VARCHAR(255) NOT NULL,             -- "<root uid>@coach-marketplace"
  ics_sequence       INT UNSIGNED NOT NULL DEFAULT 0,   -- SEQUENCE of the last e-mail about this uid
  reschedule_reason  VARCHAR(500) NULL,                 -- why this booking replaced its predecessor
  cancel_reason      VARCHAR(500) NULL,
  cancelled_by       ENUM('agent','coach','admin','calcom') NULL,
  cancelled_at       DATETIME(3) NULL,                  -- set once: a second cancel sends nothing
  rescheduled_to_uid VARCHAR(191) NULL,                 -- set once: a second reschedule of this uid sends nothing
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_bmeta_agent (agent_user_id),
  KEY ix_bmeta_ics (ics_uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Listing "my bookings" as an agent.
ALTER TABLE CalBooking ADD KEY IF NOT EXISTS ix_calbooking_agent_time (agent_user_id, status, start_utc);
