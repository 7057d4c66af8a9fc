-- Create the users table.
--
-- The application assigns ids (UUIDs as 36-character text), which keeps the table the same on
-- PostgreSQL, MySQL/MariaDB and SQLite: the three spell auto-increment differently.

CREATE TABLE users (
    id CHAR(36) NOT NULL PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    display_name VARCHAR(100) NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX users_email_uniq ON users (email);
