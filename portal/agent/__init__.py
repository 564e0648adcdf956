"""The agent workspace: queue, saved views, ticket page, replies, inline edits, attachments, notifications."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp
    from .ticket_views import bp as ticket_bp
    from . import custom_field_views  # noqa: F401  (its routes live on the ticket blueprint)
    from . import delivery_views  # noqa: F401  (so do these)
    from .saved_view_views import bp as saved_views_bp
    from .notification_views import bp as notifications_bp, unread_count
    from .contact_views import bp as contacts_bp
    from . import hooks
    app.register_blueprint(bp)
    app.register_blueprint(ticket_bp)
    app.register_blueprint(saved_views_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(contacts_bp)

    def bell_unread() -> int:
        from flask_login import current_user
        return unread_count(current_user) if current_user.is_authenticated else 0

    # Called by base.html's bell only (one small indexed count per full page).
    app.jinja_env.globals.update(bell_unread=bell_unread, ticket_actions=hooks.ticket_actions,
                                 queue_bulk_actions=hooks.queue_bulk_actions,
                                 has_endpoint=lambda name: name in app.view_functions)
