-- 0001_users.sql: people who sign in (through Clerk) and their role.
CREATE TABLE IF NOT EXISTS users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  clerk_user_id  VARCHAR(64)  NOT NULL,
  email          VARCHAR(254) NOT NULL,
  name           VARCHAR(200) NOT NULL,
  role           ENUM('agent','coach','admin') NOT NULL DEFAULT 'agent',
  time_zone      VARCHAR(64)  NOT NULL DEFAULT 'UTC',
  created_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_users_clerk (clerk_user_id),
  UNIQUE KEY uq_users_email (email),
  KEY ix_users_role (role)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Public profile of a coach, shown in the directory.
CREATE TABLE IF NOT EXISTS coach_profiles (
  user_id      BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  headline     VARCHAR(200) NOT NULL DEFAULT '',
  bio          TEXT NULL,
  specialties  VARCHAR(500) NOT NULL DEFAULT '',
  city         VARCHAR(120) NOT NULL DEFAULT '',
  is_listed    TINYINT(1) NOT NULL DEFAULT 1,
  created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_coach_profiles_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
