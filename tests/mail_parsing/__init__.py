"""Email parsing (portal.channels.mail): pure Python, no app, no database."""
