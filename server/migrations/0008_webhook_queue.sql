-- Webhook deliveries become a claim queue (issue 9 "Processing"): processed in arrival order per
-- business number and in parallel across numbers, by any of several server instances sharing one
-- database, retried with backoff, and marked failed with the reason after the last try.
--
-- ordering_key: the business number a delivery concerns, read cheaply at receipt (Meta's
--   metadata.phone_number_id, else the WABA id; YCloud's business number); a body we cannot read
--   gets a key of its own. A delivery is claimed only when no older unfinished one has its key.
--   Rows stored before this migration share the empty key, so they keep their old global order.
-- attempts: how many times a worker claimed it (a crashed worker's try counts too).
-- next_attempt_at: not claimed before this time (epoch ms): the backoff after a failed try.
-- claimed_by / claimed_until: the lease of the instance processing it; past claimed_until another
--   instance may take it over (the first one died). Kept after settling: who settled it.
-- last_error: why the latest try failed.
ALTER TABLE webhook_events ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_events ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_events ADD COLUMN claimed_until BIGINT;
ALTER TABLE webhook_events ADD COLUMN last_error TEXT;

-- "Is there an older unfinished delivery of this number?" and "the next ones of this number".
CREATE INDEX webhook_events_pending_by_key ON webhook_events (ordering_key, received_at, id) WHERE state = 'pending';

-- The numbers that are busy (claimed, or waiting for a retry): few rows, read by every claim.
CREATE INDEX webhook_events_held ON webhook_events (ordering_key) WHERE state = 'pending' AND attempts > 0;
