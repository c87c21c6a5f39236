"""The event backbone: sequencer and relays, the events API; later webhooks and the sync feed."""
