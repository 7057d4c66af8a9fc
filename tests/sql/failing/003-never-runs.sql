CREATE TABLE never_created (id INTEGER);
