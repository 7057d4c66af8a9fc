-- sqlmigrate: depends-on billing:002-add-invoice-lines
CREATE TABLE reports_invoice_totals (invoice_id INTEGER PRIMARY KEY, amount DECIMAL(10, 2));
