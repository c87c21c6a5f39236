"""Accord: the shared customer record that every department works on."""

__version__ = "0.1.0"
