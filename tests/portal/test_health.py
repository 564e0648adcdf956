"""/healthz: what a load balancer and an operator read."""
import pytest

pytestmark = pytest.mark.integration


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and "failing" not in body
    assert set(body["checks"]) == {"database", "queue"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["backend"] in ("sqlite", "postgresql")
    assert body["checks"]["queue"] == {"ok": True, "mode": "sync", "detail": "inline (sync)"}


def test_healthz_names_the_queue_when_redis_is_unreachable(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["queue"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is False and body["checks"]["queue"]["mode"] == "rq"
    assert "redis unreachable" in body["checks"]["queue"]["detail"]


def test_healthz_with_real_redis(make_app, redis_url):
    response = make_app(REDIS_URL=redis_url).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["queue"] == {"ok": True, "mode": "rq", "detail": "redis"}


def test_healthz_needs_no_login_and_sends_security_headers(client):
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
