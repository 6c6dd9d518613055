-- +goose Up
-- Bumped by a password change and before an account is deleted. A session
-- records the generation it was authenticated under; login and
-- re-authentication read it again after registering their session and end
-- themselves when it moved (see internal/session/manager.go).
ALTER TABLE users ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN credential_generation;
