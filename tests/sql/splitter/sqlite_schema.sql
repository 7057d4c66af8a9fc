-- SQLite schema (sqlite3 .schema style)
PRAGMA foreign_keys = ON;

CREATE TABLE author (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,      -- may contain ';'
    "order" INTEGER,
    [end] TEXT
);

CREATE TRIGGER author_audit AFTER UPDATE ON author
BEGIN
    INSERT INTO audit (what) VALUES ('author; updated');
    UPDATE author SET "order" = CASE WHEN NEW."order" IS NULL THEN 0 ELSE NEW."order" END
     WHERE id = NEW.id;
END;

/* a comment; not a statement */
INSERT INTO author (id, name) VALUES (1, 'Zoë O''Brien'), (2, X'41');
