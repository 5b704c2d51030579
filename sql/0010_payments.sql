-- 0010_payments.sql: Stripe payments for priced bookings (lib/payments.*).
--
-- payments: one row per checkout of a priced booking attempt (one
-- booking_intents row). The row is created 'pending' with the Checkout
-- Session; Stripe's webhooks (stripe_events) move it forward. The facts are
-- kept separately (is_paid, amount_paid_minor, stripe_refunded_minor,
-- is_expired, last_failure) and status is derived from them, so events
-- applied in any order converge (a late payment_failed never downgrades a
-- paid row; a charge.refunded seen before checkout.session.completed is not
-- lost). booking_uid is the chain root of the booking made for it (NULL until
-- the booking exists); a reschedule keeps the payment (the chain keeps its
-- root). invoice_number is allocated from payment_counters in the transaction
-- that records the payment as paid: sequential, never reused, no gaps.
CREATE TABLE IF NOT EXISTS payments (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  intent_id             BIGINT UNSIGNED NOT NULL,          -- booking_intents.id
  attempt               INT UNSIGNED NOT NULL DEFAULT 1,   -- booking_intents.n_attempts at checkout
  agent_user_id         BIGINT UNSIGNED NOT NULL,
  coach_user_id         BIGINT UNSIGNED NOT NULL,
  cal_event_type_id     BIGINT NOT NULL,
  start_utc             DATETIME NOT NULL,
  end_utc               DATETIME NOT NULL,
  time_zone             VARCHAR(64) NOT NULL,
  responses_json        TEXT NULL,
  description           VARCHAR(255) NOT NULL,             -- the line item
  amount_minor          BIGINT NOT NULL,                   -- price at checkout, minor units
  currency              CHAR(3) NOT NULL,                  -- upper case ISO
  status                ENUM('pending','paid','failed','expired','partially_refunded','refunded') NOT NULL DEFAULT 'pending',
  is_paid               TINYINT(1) NOT NULL DEFAULT 0,
  is_expired            TINYINT(1) NOT NULL DEFAULT 0,
  amount_paid_minor     BIGINT NOT NULL DEFAULT 0,
  stripe_refunded_minor BIGINT NOT NULL DEFAULT 0,         -- the highest charge.amount_refunded seen
  refunded_minor        BIGINT NOT NULL DEFAULT 0,         -- derived: max(stripe_refunded, our succeeded refunds)
  last_failure          VARCHAR(500) NULL,                 -- the last payment_failed message
  checkout_session_id   VARCHAR(255) NULL,
  checkout_url          VARCHAR(2000) NULL,
  checkout_expires_at   DATETIME NOT NULL,
  payment_intent_id     VARCHAR(255) NULL,
  charge_id             VARCHAR(255) NULL,
  stripe_receipt_url    VARCHAR(2000) NULL,
  stripe_invoice_id     VARCHAR(255) NULL,
  customer_email        VARCHAR(254) NULL,
  invoice_number        BIGINT UNSIGNED NULL,
  tax_rate_bps          INT NOT NULL DEFAULT 0,            -- the tax rate in force when paid (included in the price)
  tax_name              VARCHAR(64) NULL,
  paid_at               DATETIME(3) NULL,
  booking_uid           VARCHAR(191) NULL,                 -- chain root of the booking made for it
  finalize_state        ENUM('waiting','queued','booked','slot_lost') NOT NULL DEFAULT 'waiting',
  finalize_error        VARCHAR(500) NULL,
  created_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_payments_intent (intent_id, attempt),
  UNIQUE KEY uq_payments_session (checkout_session_id),
  UNIQUE KEY uq_payments_invoice (invoice_number),
  KEY ix_payments_pi (payment_intent_id),
  KEY ix_payments_booking (booking_uid),
  KEY ix_payments_status (status, checkout_expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Invoice number sequences: one row per series, incremented under its row
-- lock inside the paying transaction.
CREATE TABLE IF NOT EXISTS payment_counters (
  name       VARCHAR(64) NOT NULL PRIMARY KEY,
  last_value BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT IGNORE INTO payment_counters (name, last_value) VALUES ('invoice', 0);

-- Refunds we asked for (or learned about). Computed and inserted under the
-- payment's row lock; idempotency_key is unique (one refund per cause, e.g.
-- "refund:<payment>:cancel"), and is also the Idempotency-Key sent to Stripe
-- by the stripe_refund job. stripe_refund_id is unique: recorded once.
CREATE TABLE IF NOT EXISTS payment_refunds (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  payment_id           BIGINT UNSIGNED NOT NULL,
  amount_minor         BIGINT NOT NULL,
  reason               ENUM('policy','coach_cancel','admin','slot_lost') NOT NULL,
  note                 VARCHAR(500) NULL,
  requested_by_user_id BIGINT UNSIGNED NULL,
  idempotency_key      VARCHAR(191) NOT NULL,
  status               ENUM('queued','pending','succeeded','failed','canceled') NOT NULL DEFAULT 'queued',
  stripe_refund_id     VARCHAR(255) NULL,
  failure_reason       VARCHAR(500) NULL,
  created_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_refunds_key (idempotency_key),
  UNIQUE KEY uq_refunds_stripe (stripe_refund_id),
  KEY ix_refunds_payment (payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Stripe's webhook inbox: stored (unique on the event id) before the 2xx,
-- applied once in its own transaction, retried by the worker with backoff.
CREATE TABLE IF NOT EXISTS stripe_events (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id      VARCHAR(255) NOT NULL,
  type          VARCHAR(100) NOT NULL,
  payload       MEDIUMTEXT NOT NULL,
  status        ENUM('received','applied','ignored','failed','dead') NOT NULL DEFAULT 'received',
  attempts      INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  locked_until  DATETIME(3) NULL,
  last_error    VARCHAR(1000) NULL,
  event_created BIGINT NOT NULL DEFAULT 0,                 -- Stripe's "created" (unix s)
  received_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  applied_at    DATETIME(3) NULL,
  UNIQUE KEY uq_stripe_events_id (event_id(191)),
  KEY ix_stripe_events_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A refund policy per session type ("24h:100,2h:50"; NULL = the platform's
-- refund-policy config key).
ALTER TABLE EventType ADD COLUMN IF NOT EXISTS refund_policy VARCHAR(200) NULL;
