-- sqlmigrate: depends-on billing.0001_initial
-- Invoices belong to billing_customer, the table of Django's billing.0001_initial.
CREATE TABLE billing_invoices (
    id INTEGER PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    total DECIMAL(10, 2) NOT NULL
);
INSERT INTO billing_invoices (id, customer_id, total)
SELECT 1, id, 0 FROM billing_customer WHERE name = 'first';
