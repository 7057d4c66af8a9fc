-- The admin tests' table: widgets.
CREATE TABLE admin_widgets (
    id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);
