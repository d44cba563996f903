-- Media files of the inbox (issue 9 "Media"): agents' uploads to send and customers' media
-- downloaded from the upstream. The bytes are in the media store (a directory, or an
-- S3-compatible bucket) under storage_key; this row says whose each file is and what it is.
-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only, times in unix milliseconds.
CREATE TABLE media_files (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    storage_key TEXT NOT NULL UNIQUE,
    mime_type TEXT NOT NULL,
    -- As the sender named it (documents), accents included.
    file_name TEXT,
    size_bytes BIGINT NOT NULL,
    -- Hex SHA-256 of the bytes.
    sha256 TEXT NOT NULL,
    -- upload | inbound
    origin TEXT NOT NULL,
    -- The upstream's media id an inbound file was downloaded by.
    upstream_media_id TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX media_files_by_account ON media_files (account_id, created_at);

-- A message's stored file (inbound once downloaded; outbound from the upload sent).
ALTER TABLE messages ADD COLUMN media_file_id TEXT;
ALTER TABLE messages ADD COLUMN media_size_bytes BIGINT;
-- fetching | stored | unavailable; NULL for messages without a file to keep.
ALTER TABLE messages ADD COLUMN media_state TEXT;

-- Inbound media waiting to be downloaded, one row per message until it is stored or given up.
-- A worker claims a row by moving next_attempt_at past now with a conditional update on the value
-- it read, so two servers never download the same file at once.
CREATE TABLE media_downloads (
    message_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX media_downloads_due ON media_downloads (next_attempt_at);
