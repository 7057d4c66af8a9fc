-- sqlmigrate: no-transaction
-- Three statements commit one by one; the third fails.
CREATE TABLE part_a (id INTEGER);
CREATE TABLE part_b (id INTEGER);
INSERT INTO missing_table VALUES (1);
CREATE TABLE part_c (id INTEGER);
