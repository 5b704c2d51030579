-- 0003_jobs.sql: the outbox / job queue the worker drains. A row is written in
-- the same transaction as the state change that causes it; the worker claims
-- due rows with SELECT ... FOR UPDATE SKIP LOCKED, so several workers on
-- several hosts never run the same job at once; idempotency_key makes a
-- repeated enqueue a no-op.
CREATE TABLE IF NOT EXISTS jobs (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind             VARCHAR(64)  NOT NULL,
  idempotency_key  VARCHAR(191) NOT NULL,
  payload          TEXT NOT NULL,
  status           ENUM('pending','running','done','dead') NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts     INT UNSIGNED NOT NULL DEFAULT 8,
  run_after        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  locked_by        VARCHAR(128) NULL,
  locked_until     DATETIME(3) NULL,
  last_error       VARCHAR(1000) NULL,
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  finished_at      DATETIME(3) NULL,
  UNIQUE KEY uq_jobs_key (idempotency_key),
  KEY ix_jobs_due (status, run_after)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
