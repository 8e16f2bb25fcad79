"""Writes of the segments app, one module per entity: `fields` (the field catalog),
`segments` (segments and their history) and `static` (uploaded member lists). Import from
the module: `from segments.services.segments import segment_create`. Reads are in
`segments.selectors`."""
