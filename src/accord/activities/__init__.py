"""Tasks, notes, calls, meetings and logged emails on any record, and each record's timeline."""
