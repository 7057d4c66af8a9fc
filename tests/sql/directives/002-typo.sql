-- sqlmigrate: no-transactoin
CREATE TABLE typo (id INTEGER);
