-- MySQL/MariaDB stored programs, written without a DELIMITER command.
CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, note VARCHAR(100));

CREATE PROCEDURE bump(IN counter_id INT)
BEGIN
    DECLARE current INT DEFAULT 0;
    SELECT n INTO current FROM counters WHERE id = counter_id;
    IF current IS NULL THEN
        INSERT INTO counters (id, n) VALUES (counter_id, 1);
    ELSE
        UPDATE counters SET n = n + 1 WHERE id = counter_id;
    END IF;
END;

CREATE TRIGGER counters_note BEFORE INSERT ON counters FOR EACH ROW
BEGIN
    SET NEW.note = CASE WHEN NEW.id < 0 THEN 'negative; odd' ELSE "it's fine" END;
END;

INSERT INTO counters (id, n) VALUES (1, 0);
CALL bump(1);
CALL bump(1);
