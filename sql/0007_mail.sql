-- 0007_mail.sql: one row per booking e-mail the SMTP server accepted
-- (lib/booking_mail.cpp). perform_job checks it by job id before sending, so a
-- job re-run after a crash, a failed jobs::complete or an expired lease does
-- not send the mail twice. change_kind is created | rescheduled | cancelled
-- ("change" is a reserved word); ics_uid/ics_sequence name the invite.
CREATE TABLE IF NOT EXISTS mail_deliveries (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id        BIGINT UNSIGNED NOT NULL,
  recipient     VARCHAR(254) NOT NULL,
  subject       VARCHAR(1000) NOT NULL,
  change_kind   ENUM('created','rescheduled','cancelled') NOT NULL,
  ics_uid       VARCHAR(255) NOT NULL,
  ics_sequence  INT NOT NULL,
  sent_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  message_id    VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_mail_deliveries_job (job_id),
  KEY ix_mail_deliveries_uid (ics_uid(191), ics_sequence)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
