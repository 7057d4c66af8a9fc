-- The first statement succeeds, the second refers to a missing table:
-- a transactional file must leave no trace of either.
INSERT INTO app_users (id, username) VALUES (7, 'rolled back');

SELECT id
  FROM missing_table;
