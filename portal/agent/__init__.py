"""The agent workspace: queue, ticket page, replies, inline edits, attachments."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp
    from .ticket_views import bp as ticket_bp
    app.register_blueprint(bp)
    app.register_blueprint(ticket_bp)
