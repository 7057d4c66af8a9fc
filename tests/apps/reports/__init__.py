"""An app with SQL migrations only, one of which waits for a billing SQL file."""
