-- demo.sql: demo coaches, agents and an admin for local mode. Idempotent.
-- The ids match etc/demo-users.json, which the Clerk emulator signs in as.
INSERT INTO users (clerk_user_id, email, name, role, time_zone) VALUES
  ('user_demo_coach_maria',  'maria.lopez@coach.test',  'Maria Lopez',  'coach', 'Europe/Madrid'),
  ('user_demo_coach_james',  'james.carter@coach.test', 'James Carter', 'coach', 'America/New_York'),
  ('user_demo_coach_priya',  'priya.nair@coach.test',   'Priya Nair',   'coach', 'Asia/Kolkata'),
  ('user_demo_agent_sam',    'sam.taylor@agent.test',   'Sam Taylor',   'agent', 'America/Los_Angeles'),
  ('user_demo_agent_olivia', 'olivia.brown@agent.test', 'Olivia Brown', 'agent', 'Australia/Sydney'),
  ('user_demo_admin',        'admin@coach.test',        'Ada Admin',    'admin', 'UTC')
ON DUPLICATE KEY UPDATE name = VALUES(name);

INSERT IGNORE INTO coach_profiles (user_id, headline, bio, specialties, city)
SELECT id, 'Listing strategy & negotiation', 'Fifteen years selling homes on the Costa del Sol; I help new agents win their first listings.', 'Listings, Negotiation, Luxury', 'Madrid'
  FROM users WHERE clerk_user_id = 'user_demo_coach_maria';
INSERT IGNORE INTO coach_profiles (user_id, headline, bio, specialties, city)
SELECT id, 'Lead generation that scales', 'Former top-producing team lead in Brooklyn. Systems for prospecting, follow-up and referrals.', 'Lead generation, CRM, Teams', 'New York'
  FROM users WHERE clerk_user_id = 'user_demo_coach_james';
INSERT IGNORE INTO coach_profiles (user_id, headline, bio, specialties, city)
SELECT id, 'Mindset & time blocking for busy agents', 'Certified coach working with agents across time zones on habits, focus and goal setting.', 'Mindset, Productivity, Goal setting', 'Bengaluru'
  FROM users WHERE clerk_user_id = 'user_demo_coach_priya';
