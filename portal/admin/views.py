from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


from flask_login import login_required  # noqa: E402  (placeholder until the admin screens land)


@bp.get("/")
@login_required
def index():
    from flask import redirect, url_for
    return redirect(url_for("agent.queue"))
