CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT);
CREATE TRIGGER notes_kind AFTER INSERT ON notes
BEGIN
    UPDATE notes SET kind = CASE WHEN NEW.body LIKE '%;%' THEN 'semi' ELSE 'plain' END
        WHERE id = NEW.id;
END;
INSERT INTO notes (body) VALUES ('a; b');
