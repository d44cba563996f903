-- The team inbox: customers (contacts), one conversation per (business number, contact), and the
-- messages of each, from message webhooks (issue 9). Portable between SQLite and PostgreSQL like
-- 0002: TEXT and BIGINT only, times in unix milliseconds, partial unique indexes.
-- Every table carries account_id: every query binds it (inbox::store::InboxDb).

-- A customer of an account, known by their WhatsApp id (phone number digits), by their
-- business-scoped user id (2026: a customer may have only that), or both. A message carrying
-- both merges onto the one contact that had either.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    wa_id TEXT,
    user_id TEXT,
    -- The WhatsApp profile name, as the latest message carried it.
    profile_name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX contacts_by_wa_id ON contacts (account_id, wa_id) WHERE wa_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_by_user_id ON contacts (account_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    -- open | resolved
    state TEXT NOT NULL,
    assignee_user_id TEXT,
    unread_count BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (phone_number_id, contact_id)
);

CREATE INDEX conversations_by_activity ON conversations (account_id, last_message_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    -- WhatsApp's message id: a redelivered message is stored once per business number.
    wamid TEXT NOT NULL,
    -- inbound | outbound
    direction TEXT NOT NULL,
    -- customer | agent | phone | assistant | api
    origin TEXT NOT NULL,
    -- text, image, ..., unsupported (a type we do not know is stored as unsupported)
    type TEXT NOT NULL,
    -- The text shown: the body, a caption, a button's title, a location's name.
    text TEXT,
    media_id TEXT,
    media_mime_type TEXT,
    -- Exactly as sent (accents included).
    media_file_name TEXT,
    media_caption TEXT,
    media_sha256 TEXT,
    -- YCloud's download link (Meta's media is fetched by id).
    media_link TEXT,
    -- The message object as the provider sent it (JSON), for what later versions show.
    payload TEXT NOT NULL,
    -- The wamid this message replies to (context.id).
    reply_to_wamid TEXT,
    -- pending | sent | delivered | read | played | failed; NULL for inbound messages.
    status TEXT,
    -- MessageStatus::rank of status: a status is applied only when it ranks higher.
    status_rank BIGINT NOT NULL DEFAULT 0,
    -- From errors[] (inbound: e.g. media unavailable; outbound: a failed status, e.g. 131047).
    error_code TEXT,
    error_title TEXT,
    error_details TEXT,
    -- The latest reaction of each side on this message (empty: removed) and when it was made.
    customer_reaction TEXT,
    customer_reaction_at BIGINT,
    business_reaction TEXT,
    business_reaction_at BIGINT,
    -- When WhatsApp says the message was sent (unix ms).
    timestamp BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (phone_number_id, wamid)
);

CREATE INDEX messages_by_conversation ON messages (account_id, conversation_id, timestamp);

-- A status for a message not recorded yet (one we sent a moment ago): the highest one seen for
-- each message, applied when the message row appears.
CREATE TABLE pending_statuses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    wamid TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    error_code TEXT,
    error_title TEXT,
    error_details TEXT,
    timestamp BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (phone_number_id, wamid)
);
