"""``antre hub``: the district's ingester (docs/district.md). Offices' outbox rows from the district broker into
PostgreSQL, exactly once per (office, seq); missing rows asked for again. Any number of instances at once."""
