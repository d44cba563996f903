-- WhatsApp business accounts (WABAs) and numbers bound to wadesk accounts, registration attempts,
-- coexistence sync progress, and raw webhook deliveries.
-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only; times are unix milliseconds;
-- booleans are 0/1.

CREATE TABLE whatsapp_wabas (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Meta's id. A WABA belongs to one wadesk account, whichever that is.
    waba_id TEXT NOT NULL UNIQUE,
    business_id TEXT,
    name TEXT NOT NULL,
    -- The account review status: APPROVED, PENDING, REJECTED, UNKNOWN.
    status TEXT NOT NULL,
    -- The business token from the Embedded Signup exchange, AES-256-GCM sealed (see secrets.rs).
    token_sealed TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX whatsapp_wabas_by_account ON whatsapp_wabas (account_id);

CREATE TABLE whatsapp_numbers (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    waba_id TEXT NOT NULL,
    -- Meta's phone number id: bound to one account at a time.
    phone_number_id TEXT NOT NULL UNIQUE,
    display_phone_number TEXT NOT NULL,
    verified_name TEXT NOT NULL,
    -- A display name change waiting for Meta's review.
    requested_verified_name TEXT,
    status TEXT NOT NULL,
    quality_rating TEXT NOT NULL,
    messaging_limit TEXT NOT NULL,
    -- cloud | coexistence | manual
    origin TEXT NOT NULL,
    -- The two-step verification PIN sent with register, sealed like tokens.
    pin_sealed TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX whatsapp_numbers_by_account ON whatsapp_numbers (account_id);
CREATE INDEX whatsapp_numbers_by_waba ON whatsapp_numbers (waba_id);

-- Register is limited to 10 requests per number in 72 hours: one row per request, kept past removal
-- so removing and re-adding a number does not reset the count.
CREATE TABLE whatsapp_registration_attempts (
    id TEXT PRIMARY KEY,
    phone_number_id TEXT NOT NULL,
    attempted_at BIGINT NOT NULL
);

CREATE INDEX whatsapp_registration_attempts_by_number ON whatsapp_registration_attempts (phone_number_id, attempted_at);

-- Coexistence contact and history sync, one row per number.
CREATE TABLE whatsapp_sync_progress (
    phone_number_id TEXT PRIMARY KEY,
    -- NOT_REQUESTED | REQUESTED | IN_PROGRESS | COMPLETED | DECLINED | FAILED
    contacts_state TEXT NOT NULL,
    history_state TEXT NOT NULL,
    -- -1 before the first history webhook; then 0, 1 or 2.
    history_phase BIGINT NOT NULL,
    history_progress BIGINT NOT NULL,
    history_messages BIGINT NOT NULL,
    contacts_requested_at BIGINT,
    history_requested_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- Contacts the WhatsApp Business app shared (smb_app_state_sync): a set, so repeated deliveries
-- and add/remove pairs keep the count right.
CREATE TABLE whatsapp_sync_contacts (
    phone_number_id TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    full_name TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (phone_number_id, contact_phone)
);

-- Every webhook delivery with a valid signature, stored before it is acknowledged.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    -- meta | ycloud | sandbox
    provider TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    -- The raw body as received (lossless when it is UTF-8, which JSON is).
    body TEXT NOT NULL,
    -- SHA-256 of the raw body (hex): a redelivery of the same body is processed once.
    body_sha256 TEXT NOT NULL,
    -- pending | processed | duplicate | ignored | unprocessable
    state TEXT NOT NULL,
    -- Why it was ignored or unprocessable.
    note TEXT,
    processed_at BIGINT
);

CREATE INDEX webhook_events_by_body ON webhook_events (provider, body_sha256);

-- The token Meta's webhook subscription handshake must present, one per account.
CREATE TABLE whatsapp_webhook_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    verify_token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
