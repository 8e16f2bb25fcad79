"""Settings defaults, read in fresh processes with a controlled environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}


def read_settings(env: dict[str, str], *names: str) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**BASE_ENV, "DJANGO_SETTINGS_MODULE": "personalize.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_defaults_are_embedded_services(tmp_path):
    values = read_settings(
        {"SECRET_KEY": "x" * 50}, "DATABASES", "CACHES", "CELERY_TASK_ALWAYS_EAGER", "DEBUG"
    )
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["DEBUG"] is False


def test_real_services_from_environment():
    values = read_settings(
        {
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://u:p@db.example:5432/pz",
            "REDIS_URL": "redis://cache.example:6379/1",
            "CELERY_BROKER_URL": "amqp://guest:guest@mq.example:5672//",
        },
        "DATABASES",
        "CACHES",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_URL",
    )
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["DATABASES"]["default"]["HOST"] == "db.example"
    assert values["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False


def test_secret_key_is_required_outside_debug():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**BASE_ENV, "DJANGO_SETTINGS_MODULE": "personalize.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_debug_generates_and_keeps_a_secret_key():
    first = read_settings({"DEBUG": "true"}, "SECRET_KEY")["SECRET_KEY"]
    second = read_settings({"DEBUG": "true"}, "SECRET_KEY")["SECRET_KEY"]
    assert len(first) >= 50 and first == second


def test_production_values_pass_check_deploy(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **BASE_ENV,
            "SECRET_KEY": "prod-" + "k3y!" * 15,
            "ALLOWED_HOSTS": "personalize.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",  # production has one (E001)
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_logs_are_json_lines():
    script = (
        "import django, logging; django.setup();"
        "logging.getLogger('personalize.test').warning('hello', extra={'site': 'alpha'})"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**BASE_ENV, "DJANGO_SETTINGS_MODULE": "personalize.settings", "SECRET_KEY": "x" * 50},
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = json.loads(done.stderr.strip().splitlines()[-1])
    assert record["message"] == "hello"
    assert record["level"] == "WARNING"
    assert record["logger"] == "personalize.test"
    assert record["site"] == "alpha"


def test_every_beat_schedule_entry_names_a_registered_task():
    from django.conf import settings

    from personalize.celery import app

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
