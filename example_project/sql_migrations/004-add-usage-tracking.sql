-- Add usage tracking: a daily count of each user's actions.
--
-- One row per user, day and action, incremented by the application; last_seen_at on users
-- answers "who was active lately" without scanning usage_stats.

CREATE TABLE usage_stats (
    user_id CHAR(36) NOT NULL,
    usage_date DATE NOT NULL,
    action VARCHAR(50) NOT NULL,
    event_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, usage_date, action),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX usage_stats_usage_date_idx ON usage_stats (usage_date);

ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMP NULL;
