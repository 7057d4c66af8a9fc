-- sqlmigrate: depends-on auth.0001_initial
-- Notes about users: needs auth_user, made by Django's auth.0001_initial.
CREATE TABLE app_user_notes (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);
