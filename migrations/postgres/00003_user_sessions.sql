-- +goose Up
-- The per-user session registry (when sessions live in the database): one
-- row per signed-in session, so a user can list and end them. store_key is
-- the session's key in the sessions table (SHA-256 of the token), never the
-- token; id is a random display id. Rows without a live session are pruned.
CREATE TABLE user_sessions (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    store_key  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL, -- unix nanoseconds
    last_seen  BIGINT  NOT NULL, -- unix nanoseconds
    ip         TEXT    NOT NULL,
    device     TEXT    NOT NULL
);

CREATE INDEX user_sessions_user_idx ON user_sessions(user_id);
CREATE INDEX user_sessions_store_key_idx ON user_sessions(store_key);

-- +goose Down
DROP TABLE user_sessions;
