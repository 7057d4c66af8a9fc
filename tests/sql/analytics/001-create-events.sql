-- Events of the analytics database only (SQLMIGRATE_DIRS = {"other": [...]}).
CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, kind VARCHAR(40) NOT NULL);
