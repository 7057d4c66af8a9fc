CREATE TABLE after_partial (id INTEGER);
