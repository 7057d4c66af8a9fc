-- sqlmigrate: no-transaction
CREATE INDEX CONCURRENTLY people_name ON people (name);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS people_id_name ON people (id, name);
