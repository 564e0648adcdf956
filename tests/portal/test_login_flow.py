"""Signing in through the real form, CSRF on, and the test client's per-request isolation."""
import pytest

from factories import PASSWORD, make_agent, make_department

pytestmark = pytest.mark.integration


@pytest.fixture
def ann(app):
    return make_agent(departments=[make_department()], name="Ann Example", email="ann@example.com")


def signed_in_as(client) -> str | None:
    """The signed-in user's name from the agent's queue page, or None when sent to sign in."""
    response = client.get("/tickets")
    if response.status_code == 302:
        return None
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return next((name for name in ("Ann Example", "Bob Example") if name in page), "?")


def test_login_page_carries_a_csrf_token(client, csrf_token):
    assert len(csrf_token(client, "/login")) > 20


def test_a_post_without_the_csrf_token_is_refused(client, ann):
    response = client.post("/login", data={"email": ann.email, "password": PASSWORD})
    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_login_helper_signs_in_through_the_form(client, login, ann):
    response = login(client, ann)
    assert "/login" not in response.headers["Location"]
    assert signed_in_as(client) == "Ann Example"


def test_wrong_password_then_throttled(app, client, login, ann):
    app.config["LOGIN_MAX_FAILURES"] = 2
    login(client, ann, "wrong-password", expect=401)
    login(client, ann, "wrong-password", expect=401)
    login(client, ann, expect=429)  # even the right password, until the window passes
    assert signed_in_as(client) is None


def test_clients_do_not_share_a_signed_in_user(app, login, ann):
    bob = make_agent(name="Bob Example", email="bob@example.com")
    first, second = app.test_client(), app.test_client()
    login(first, ann)
    login(second, bob)
    assert signed_in_as(first) == "Ann Example"
    assert signed_in_as(second) == "Bob Example"
    assert signed_in_as(app.test_client()) is None


def test_logout_needs_the_csrf_token_too(client, login, csrf_token, ann):
    login(client, ann)
    assert client.post("/logout").status_code == 400
    assert signed_in_as(client) == "Ann Example"
    token = csrf_token(client, "/tickets")  # the sign-out form in the page header
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert signed_in_as(client) is None
