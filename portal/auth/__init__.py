"""Sign-in, sign-out and the user's own settings."""
from flask import Flask

from ..extensions import db, login_manager
from ..models import User


def init_app(app: Flask) -> None:
    from .views import bp
    app.register_blueprint(bp)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id))
