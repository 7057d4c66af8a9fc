-- Add email verification to users.
--
-- A new account starts unverified; the emailed link carries verification_token, which is
-- cleared once used. Existing users predate verification and are treated as verified.

ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP NULL;
ALTER TABLE users ADD COLUMN verification_token VARCHAR(64) NULL;

UPDATE users SET email_verified = TRUE, email_verified_at = created_at;

CREATE UNIQUE INDEX users_verification_token_uniq ON users (verification_token);
