"""Where a successful post sends the browser."""
from flask import redirect
from flask_htmx import make_response as htmx_response

from .extensions import htmx


def see_other(location: str):
    """Go to `location` after a successful post: an HX-Redirect for an HTMX request (a 302 would
    be followed inside the swapped fragment), a plain redirect otherwise."""
    if htmx:
        return htmx_response(redirect=location)
    return redirect(location)
