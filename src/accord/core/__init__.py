"""The lowest layer: ids, clock, errors, pagination, field history, outbox, scheduler, registry."""
