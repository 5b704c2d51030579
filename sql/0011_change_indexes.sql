-- 0011_change_indexes.sql: indexes for the passes that follow booking changes.
--
-- The refund of cancellations made in Cal.com (payments) reads CalBooking by
-- updated_at once a minute; without this index each pass scans and sorts the
-- whole table.
ALTER TABLE CalBooking ADD KEY IF NOT EXISTS ix_calbooking_updated (updated_at);

-- Every path that changes a CalBooking row now calls booking_hooks::changed in
-- its transaction, so the worker's catch-up pass over changed bookings (and its
-- watermark, from 0008) is gone.
DROP TABLE IF EXISTS session_sync_state;
