-- +goose Up
CREATE TABLE users (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE,
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The application normalizes emails; the database refuses anything else,
    -- so the UNIQUE constraint is case- and space-insensitive.
    CONSTRAINT users_email_normalized CHECK (email = lower(trim(email)))
);

-- +goose Down
DROP TABLE users;
