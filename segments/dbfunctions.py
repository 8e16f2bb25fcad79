"""SQL functions the criteria compiler relies on (registered on SQLite connections)."""
