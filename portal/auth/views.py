from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..services import accounts
from .forms import LoginForm, ProfileForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("agent.queue")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("agent.queue"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr
        if accounts.is_throttled(form.email.data, address):
            form.form_errors.append(_("Too many failed sign-ins. Wait 15 minutes and try again."))
            status = 429
        else:
            user = accounts.authenticate(form.email.data, form.password.data, address)
            db.session.commit()
            if user is not None:
                chosen = session.get("language")
                if chosen:  # picked on the sign-in page: an explicit choice, keep it
                    user.language = chosen
                    db.session.commit()
                session.clear()
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
            form.form_errors.append(_("That email and password don't match an active account."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("portal/auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        current_user.language = form.language.data
        current_user.timezone = form.timezone.data
        current_user.availability = form.availability.data
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("auth.settings"))
    return render_template("portal/auth/settings.html", form=form), 400 if form.errors else 200


@bp.post("/language")
def set_language():
    """Language switch on the sign-in page (no account yet)."""
    lang = request.form.get("language")
    if lang in ("en", "zh_Hans"):
        session["language"] = lang
    return redirect(_safe_next(request.form.get("next") or url_for("auth.login")))
