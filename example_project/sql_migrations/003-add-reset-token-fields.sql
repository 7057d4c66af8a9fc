-- Add password-reset token fields to users.
--
-- Only a hash of the reset token is stored, with its expiry; both are cleared once the
-- password has been changed.

ALTER TABLE users ADD COLUMN reset_token_hash VARCHAR(64) NULL;
ALTER TABLE users ADD COLUMN reset_token_expires_at TIMESTAMP NULL;

CREATE INDEX users_reset_token_hash_idx ON users (reset_token_hash);
