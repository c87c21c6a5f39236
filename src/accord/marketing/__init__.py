"""Campaigns (segments, members and readiness sign-offs come later)."""
