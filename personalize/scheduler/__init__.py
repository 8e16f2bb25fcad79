"""Periodic work without a broker: the embedded scheduler that `make run` starts
(`embedded`), and what the admin shows about whichever scheduler runs (`status`)."""
