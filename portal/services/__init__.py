"""Domain services. They validate and flush; the caller (a view, a job, a CLI command) commits."""
