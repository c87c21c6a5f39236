"""Leads and their conversion, pipelines with stages, and deals."""
