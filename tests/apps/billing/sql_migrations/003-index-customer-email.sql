-- sqlmigrate: depends-on billing.0003_customer_email
CREATE INDEX billing_customer_email_idx ON billing_customer (email);
