"""Dataset formats, loading, encoding through templates, collation and packing."""
