"""Email intake: parse raw messages (parse.py, pure Python) and turn them into tickets (ingest.py)."""
from .parse import ParsedAttachment, ParsedMessage, parse_message

__all__ = ["ParsedAttachment", "ParsedMessage", "parse_message"]
