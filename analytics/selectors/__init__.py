"""Analytics' reads: metric definitions, and the reports (from rollups only)."""
