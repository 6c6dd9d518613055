-- +goose Up
-- Tombstones of ended sessions (see internal/session/guard.go): name is
-- "k:" + a session's store key (SHA-256 of its token, never the token) or
-- "s:" + its registry display id; expiry is unix milliseconds. A save that
-- raced the end of its session finds the tombstone and undoes itself.
-- Expired rows are deleted with the sessions' cleanup.
CREATE TABLE session_tombstones (
    name   TEXT    PRIMARY KEY,
    expiry BIGINT  NOT NULL
);

CREATE INDEX session_tombstones_expiry_idx ON session_tombstones (expiry);

-- +goose Down
DROP TABLE session_tombstones;
