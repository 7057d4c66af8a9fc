/* Numbered 010: order is numeric (2 < 10), not by string. */
ALTER TABLE app_users ADD COLUMN reset_token VARCHAR(64) NULL;
