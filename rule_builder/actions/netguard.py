"""Moved to portal.channels.netguard: agent replies (a portal feature) send through the same
outbound machinery as rule actions. Kept so existing imports keep working."""
from portal.channels.netguard import (URL_MAX, HTTPFailure, Target, UnsafeAddress, allow_private,  # noqa: F401
                                      check_url, parse_url, post_json, refusal, safe_address)
