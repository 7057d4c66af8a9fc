-- No header: transactional where the database allows it.
CREATE TABLE ddl_one (id INTEGER);
CREATE TABLE ddl_two (id INTEGER);
INSERT INTO ddl_missing VALUES (1);
