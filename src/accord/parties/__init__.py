"""Accounts, contacts and tags: the customer record every department shares."""
