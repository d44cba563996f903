-- Accounts (tenants), their users, and login sessions.
-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only; ids are random text made in Rust,
-- times are unix milliseconds.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    -- The name as the owner typed it (seed 003 `accountName`).
    name TEXT NOT NULL,
    -- The lowercased name: account names are unique regardless of case.
    name_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Stored lowercased, so one address is one user whatever its case.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX users_by_account ON users (account_id);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's token (hex): a leaked table does not log anyone in.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
