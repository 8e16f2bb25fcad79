"""The deployment guide, docker-compose.yml and Dockerfile agree with the settings.

No Docker engine (nor the compose plugin) runs in CI, so the compose file is checked by
parsing it: the services the guide names, the environment the settings need, and hosts
and ports that point at real services.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARS = set(
    re.findall(
        r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', (ROOT / "personalize/settings.py").read_text()
    )
)
REQUIRED_IN_PRODUCTION = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def documented(path: str) -> set[str]:
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / path).read_text(), re.M))


def test_settings_read_the_variables_we_expect():
    assert {"SECRET_KEY", "DATABASE_URL", "AXES_FAILURE_LIMIT"} <= SETTINGS_VARS


def test_every_settings_variable_is_in_the_deployment_guide_and_readme():
    assert SETTINGS_VARS - documented("docs/deployment.md") == set()
    assert SETTINGS_VARS - documented("README.md") == set()


def test_the_guide_documents_no_variable_the_settings_do_not_read():
    assert documented("docs/deployment.md") - SETTINGS_VARS == set()


def test_compose_has_every_part_of_the_guide():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "nginx"} <= set(services)


def test_compose_app_services_share_a_complete_environment():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert set(env) >= REQUIRED_IN_PRODUCTION, name
        assert set(env) <= SETTINGS_VARS, f"{name} sets variables the settings never read"
        assert env["DEBUG"] == "false"


def test_compose_urls_point_at_its_own_services():
    services = compose()["services"]
    env = services["web"]["environment"]
    db = urlsplit(env["DATABASE_URL"])
    pg = services["postgres"]["environment"]
    assert db.hostname in services and db.hostname == "postgres"
    assert (db.username, db.password, db.path.lstrip("/")) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    for var in ("REDIS_URL", "CELERY_BROKER_URL"):
        assert urlsplit(env[var]).hostname == "redis"
    assert env["REDIS_URL"] != env["CELERY_BROKER_URL"]  # cache and broker in separate DBs


def test_nginx_proxies_to_the_port_web_listens_on():
    services = compose()["services"]
    web_command = " ".join(services["web"]["command"])
    port = re.search(r"--bind 0\.0\.0\.0:(\d+)", web_command).group(1)
    assert port in [str(p) for p in services["web"]["expose"]]
    mount = services["nginx"]["volumes"][0].split(":")[0]
    conf = (ROOT / mount).read_text()
    assert f"server web:{port};" in conf
    assert "X-Forwarded-Proto" in conf and "$proxy_add_x_forwarded_for" in conf
    assert services["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_beat_runs_the_database_scheduler_and_migrations_run_first():
    services = compose()["services"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in services["beat"]["command"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]


def test_dockerfile_copies_every_package():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for pattern in packages:
        name = pattern.rstrip("*")
        assert f"COPY {name} {name}" in dockerfile
    for path in ("templates", "static", "manage.py"):
        assert f"COPY {path}" in dockerfile
