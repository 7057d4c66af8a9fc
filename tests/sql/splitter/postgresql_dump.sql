--
-- PostgreSQL database dump (trimmed, pg_dump style)
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

/* schema; objects */
CREATE TABLE public.author (
    id integer NOT NULL,
    name text NOT NULL,   -- the display name; may contain ';'
    bio text DEFAULT 'n/a'::text
);

CREATE FUNCTION public.touch_author() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
BEGIN
    NEW.bio := coalesce(NEW.bio, 'it''s; empty');
    RETURN NEW;
END;
$_$;

CREATE FUNCTION public.author_count(p_min integer) RETURNS bigint
    LANGUAGE sql
    BEGIN ATOMIC
     SELECT count(*) AS count
        FROM public.author
       WHERE (author.id >= author_count.p_min);
    END;

COPY public.author (id, name, bio) FROM stdin;
1	Zoë O'Brien	likes ; and \\ and $$
2	Anon	\N
\.

ALTER TABLE ONLY public.author
    ADD CONSTRAINT author_pkey PRIMARY KEY (id);

CREATE TRIGGER author_touch BEFORE INSERT ON public.author FOR EACH ROW EXECUTE FUNCTION public.touch_author();

--
-- PostgreSQL database dump complete
--
