-- Sending (issue 9 "Sending"): outbound messages go through an outbox, read receipts and the
-- typing indicator are remembered so each is sent once (per message, per 20 s).

-- The id the sender gave messages/send: one message per id in an account (a retry with the same
-- id gets the stored message back), and the request's fingerprint, to refuse the same id with
-- another body.
ALTER TABLE messages ADD COLUMN client_message_id TEXT;
ALTER TABLE messages ADD COLUMN request_sha256 TEXT;
CREATE UNIQUE INDEX messages_by_client_message_id ON messages (account_id, client_message_id) WHERE client_message_id IS NOT NULL;

-- When the customer's message was marked read upstream (directly, or by a later one: WhatsApp
-- marks everything before the one named).
ALTER TABLE messages ADD COLUMN read_marked_at BIGINT;

-- When the typing indicator was last shown to the conversation's customer.
ALTER TABLE conversations ADD COLUMN typing_sent_at BIGINT;

-- One row per outbound message still to hand to the upstream. Claimed like media_downloads:
-- a conditional update moving next_attempt_at past now (a lease; a server that dies mid-send
-- leaves the row to be taken again when it runs out).
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- The upstream's id of the uploaded media, kept so a retry does not upload again.
    upstream_media_id TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX outbox_due ON outbox (next_attempt_at);
