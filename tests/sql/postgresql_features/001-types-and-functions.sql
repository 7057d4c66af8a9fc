-- Real-world PostgreSQL: enums, plpgsql, triggers, DO blocks, dollar quotes, BEGIN ATOMIC.
CREATE TYPE mood AS ENUM ('sad', 'ok');

CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    current_mood mood NOT NULL DEFAULT 'ok',
    updated_at timestamptz
);

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- a semicolon; inside the body
    RETURN NEW;
END;
$$;

CREATE TRIGGER people_touch BEFORE INSERT OR UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
    SELECT CASE WHEN t = '' THEN '(silence)' ELSE upper(t) || '!' END;
END;

DO $body$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM people) THEN
        INSERT INTO people (name) VALUES (E'O\'Brien; the first');
    END IF;
END
$body$;

/* A nested /* comment */ with a ; inside */
ALTER TYPE mood ADD VALUE 'happy';
