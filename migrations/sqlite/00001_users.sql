-- +goose Up
-- Users. created_at is TEXT in RFC 3339 UTC with a fixed millisecond width
-- ("2006-01-02T15:04:05.000Z"), so that it sorts correctly as text and parses
-- with time.RFC3339Nano. The database fills it in.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- The application normalizes emails; the database refuses anything else,
    -- so the UNIQUE constraint is case- and space-insensitive.
    CONSTRAINT users_email_normalized CHECK (email = lower(trim(email)))
);

-- +goose Down
DROP TABLE users;
