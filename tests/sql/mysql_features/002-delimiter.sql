DELIMITER $$
CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC
BEGIN
    RETURN x * 2;
END$$
DELIMITER ;
INSERT INTO counters (id, n) VALUES (2, double_it(21)); # a hash comment
