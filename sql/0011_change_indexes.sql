-- 0011_change_indexes.sql: indexes for the passes that follow booking changes.
--
-- The worker's session sync (sessions::sync_changed_bookings) and the refund of
-- cancellations made in Cal.com (payments) read CalBooking by updated_at on
-- every pass; without this index each pass scans and sorts the whole table.
ALTER TABLE CalBooking ADD KEY IF NOT EXISTS ix_calbooking_updated (updated_at);
