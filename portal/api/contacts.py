"""/api/v1/contacts (see below)."""
