-- The inbox's event stream (issue 9 "Real time"): every change a user's screen must show, in
-- order per account. Ids come from the account's counter row, taken last in the writing
-- transaction: the row lock makes an account's events commit in id order, so a reader resuming
-- after id N (Last-Event-ID) never skips one that commits late. Streams read from here; the
-- in-process channel (and PostgreSQL NOTIFY across instances) only says "there is more".
CREATE TABLE event_counters (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_id BIGINT NOT NULL
);

CREATE TABLE inbox_events (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    -- message | conversation | number | numberRemoved (InboxEventData::name)
    kind TEXT NOT NULL,
    -- The business number it concerns, for per-number visibility (agents, issue 11).
    phone_number_id TEXT,
    -- The InboxEvent as sent (JSON).
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);

CREATE INDEX inbox_events_by_age ON inbox_events (created_at);
