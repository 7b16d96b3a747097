"""Health check: database and broker reachability as JSON.

Anyone may call it (load balancers do), so a failure names only the kind of error; the error's own text,
which holds host names, ports and sometimes user names, goes to the log."""
import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.celery_app import app

logger = logging.getLogger(__name__)


def _failed(what: str, exc: Exception) -> tuple[bool, str]:
    logger.warning("healthz: %s unreachable: %s", what, exc)
    return False, f"unreachable ({type(exc).__name__})"


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # any failure means "not reachable"; the log says why
        return _failed("database", exc)


def _check_broker() -> tuple[bool, str]:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type
    except Exception as exc:
        return _failed("broker", exc)


@never_cache
def healthz(request):
    db_ok, db_detail = _check_database()
    broker_ok, broker_detail = _check_broker()
    ok = db_ok and broker_ok
    return JsonResponse(
        {
            "status": "ok" if ok else "error",
            "database": {"ok": db_ok, "detail": db_detail},
            "broker": {"ok": broker_ok, "detail": broker_detail},
        },
        status=200 if ok else 503,
    )
