"""The health check reports database and broker reachability as JSON."""
import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app as celery_app


@pytest.mark.django_db
def test_healthz_reports_the_database_and_the_broker(client):
    response = client.get("/healthz")

    body = response.json()
    assert response["Content-Type"] == "application/json"
    assert set(body) == {"status", "database", "broker"}
    assert body["database"] == {"ok": True, "detail": connection.vendor}
    assert set(body["broker"]) == {"ok", "detail"}
    assert isinstance(body["broker"]["ok"], bool)
    if body["broker"]["ok"]:
        assert (response.status_code, body["status"]) == (200, "ok")
    else:
        assert (response.status_code, body["status"]) == (503, "error")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"), reason="only the embedded broker is always up"
)
def test_healthz_is_ok_with_the_embedded_filesystem_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "detail": connection.vendor},
        "broker": {"ok": True, "detail": "filesystem"},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch, caplog):
    # Nothing listens on port 1, so the connection is refused at once.
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", {})

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["database"] == {"ok": True, "detail": connection.vendor}
    assert body["broker"]["ok"] is False
    # The public answer names the kind of error only; where it tried to connect is in the log, not the answer.
    assert body["broker"] == {"ok": False, "detail": "unreachable (OperationalError)"}
    assert "127.0.0.1:1" not in response.content.decode()
    assert "Error 111 connecting to 127.0.0.1:1. Connection refused." in caplog.text
