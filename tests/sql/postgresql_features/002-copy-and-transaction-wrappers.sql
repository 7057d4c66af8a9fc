BEGIN;
COPY people (name) FROM stdin;
Ada; Lovelace
Grace Hopper
\.
UPDATE people SET name = shout(name) WHERE name LIKE 'Grace%';
COMMIT;
