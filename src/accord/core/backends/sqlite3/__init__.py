"""SQLite with writers queued on a lock file: see :mod:`.base`."""
