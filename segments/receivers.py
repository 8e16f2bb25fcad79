"""Signal receivers of the segments app (e.g. seeding the built-in field catalog per site)."""
