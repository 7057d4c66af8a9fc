-- A file whose header names a Django migration that no app has.
-- sqlmigrate: depends-on auth.0099_does_not_exist
CREATE TABLE app_never (id INTEGER PRIMARY KEY);
