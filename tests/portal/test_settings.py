"""An agent's own settings: language, time zone, availability; bad input saves nothing."""
from datetime import datetime, timezone

from factories import csrf_token, login, make_agent, make_department, make_ticket
from portal.extensions import db
from portal.models import User


def _post(client, **data):
    return client.post("/settings", data={"csrf_token": csrf_token(client, "/settings"), **data})


def test_settings_change_language_time_zone_and_availability(app, client):
    agent = make_agent(departments=[make_department()])
    login(client, agent)
    response = _post(client, language="zh_Hans", timezone="Asia/Shanghai", availability="away")
    assert response.status_code == 302
    fresh = db.session.get(User, agent.id)
    db.session.refresh(fresh)
    assert (fresh.language, fresh.timezone, fresh.availability) == ("zh_Hans", "Asia/Shanghai", "away")
    assert "设置" in client.get("/settings").get_data(as_text=True)  # the page now speaks Chinese


def test_times_show_in_the_agents_time_zone(app, client):
    dept = make_department()
    agent = make_agent(departments=[dept], timezone="Asia/Shanghai")
    ticket = make_ticket(department=dept, now=datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc))
    login(client, agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "3/2/26, 7:30" in page  # 23:30 UTC is 07:30 the next day in Shanghai


def test_an_unknown_time_zone_is_refused_on_the_field_and_nothing_is_saved(app, client):
    agent = make_agent(departments=[make_department()], timezone="UTC")
    login(client, agent)
    response = _post(client, language="en", timezone="Mars/Olympus", availability="offline")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    fresh = db.session.get(User, agent.id)
    db.session.refresh(fresh)
    assert (fresh.timezone, fresh.availability) == ("UTC", "available")
