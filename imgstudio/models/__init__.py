"""Model store: where weights live, checksums, loading."""
