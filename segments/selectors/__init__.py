"""Reads of the segments app, one module per question: `catalog` (which fields criteria may
test), `definitions` (the segments' trees and compiling them), `members` (who is in a
segment) and `preview` (whom unsaved criteria select, and which segments a visitor is in).
Import from the module: `from segments.selectors.members import segment_count`."""
