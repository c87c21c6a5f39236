"""Accord's own database backends (Django loads ``<ENGINE>.base``)."""
