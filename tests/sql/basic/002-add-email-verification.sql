ALTER TABLE app_users ADD COLUMN email VARCHAR(254);
ALTER TABLE app_users ADD COLUMN email_verified_at TIMESTAMP NULL;
-- A semicolon inside a string must not split the statement.
INSERT INTO app_users (id, username) VALUES (1, 'first; user');
