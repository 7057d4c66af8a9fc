CREATE INDEX analytics_events_kind ON analytics_events (kind);
