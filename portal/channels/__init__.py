"""Channels through which tickets arrive (email, API, web forms)."""
