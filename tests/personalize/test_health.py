import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_liveness(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_when_everything_is_up(client):
    response = client.get("/readyz/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}


def _readyz_in_subprocess(env_overrides: dict[str, str]) -> tuple[int, dict]:
    """Run /readyz/ in a fresh process whose settings point at the given services."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz/');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "personalize.settings",
        "SECRET_KEY": "readiness-test-" + "x" * 40,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "READINESS_TIMEOUT": "1",
        **env_overrides,
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["status"], result["body"]


def test_readiness_is_503_and_names_the_database_when_it_is_unreachable():
    status, body = _readyz_in_subprocess(
        {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/nowhere", "CONN_MAX_AGE": "0"}
    )
    assert status == 503
    assert body["failing"] == ["database"]
    assert body["checks"]["database"].startswith("down:")
    assert body["checks"]["cache"] == "ok"


def test_readiness_names_the_broker_when_it_is_unreachable(tmp_path):
    status, body = _readyz_in_subprocess(
        {
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        }
    )
    # Delivery fails open without the broker: degraded, still ready.
    assert status == 200
    assert body["status"] == "degraded"
    assert body["degraded"] == ["broker"]


def test_readiness_names_no_host_database_or_user():
    status, body = _readyz_in_subprocess(
        {
            "DATABASE_URL": "postgres://secretuser@127.0.0.1:1/secretdbname",
            "CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": "redis://:brokerpw@127.0.0.1:1/0",
        }
    )
    assert status == 503
    assert body["failing"] == ["database"]
    assert body["degraded"] == ["broker"]
    text = json.dumps(body)
    for secret in ("127.0.0.1", "secretuser", "secretdbname", "brokerpw", "port"):
        assert secret not in text
    assert body["checks"]["database"] == "down: OperationalError"


def test_readiness_is_degraded_not_down_when_the_cache_is_unreachable(tmp_path):
    status, body = _readyz_in_subprocess(
        {"REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    )
    assert status == 200
    assert body["status"] == "degraded"
    assert body["degraded"] == ["cache"]
    assert body["checks"]["database"] == "ok"
