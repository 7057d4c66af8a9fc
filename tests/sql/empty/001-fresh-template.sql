-- Add user preferences
--
-- Write the schema change below.
/* still nothing */
