-- Users of the application.
CREATE TABLE app_users (
    id INTEGER PRIMARY KEY,
    username VARCHAR(150) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX app_users_username ON app_users (username);
