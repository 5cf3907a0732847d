"""Migration revisions, oldest first. Each is hand-written SQL, idempotent where it can be."""
