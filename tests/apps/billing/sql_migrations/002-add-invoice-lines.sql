CREATE TABLE billing_invoice_lines (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL,
    amount DECIMAL(10, 2) NOT NULL
);
