"""Customer service: cases (queues and SLA policies come with the staff app)."""
