"""Settings for `make bench`: the real settings on the benchmark database, with the
benchmark-only urlconf (adds a bare JsonResponse view) and throttling out of the way."""

import os


def delivery_database_url() -> str:
    """BENCH_DELIVERY_DATABASE_URL, else BENCH_DATABASE_URL's server with `<name>_delivery`.

    The criteria benchmark keeps hand-made (unmigrated) tables in BENCH_DATABASE_URL's
    database, which `migrate` cannot share; the delivery benchmark needs a migrated one.
    """
    from benchmarks.loadgen import bench_database_url

    return os.environ.get("BENCH_DELIVERY_DATABASE_URL") or bench_database_url("delivery")


os.environ["DATABASE_URL"] = delivery_database_url()
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("API_KEY_THROTTLE_RATE", "1000000000/min")
os.environ.setdefault("CELERY_ALLOW_EAGER", "true")  # the no-broker runs measure eager mode

from personalize.settings import *  # noqa: E402,F403

ROOT_URLCONF = "benchmarks.urls"
SECURE_HSTS_SECONDS = 0


def behaviour_database_url() -> str:
    """BENCH_BEHAVIOUR_DATABASE_URL, else BENCH_DATABASE_URL's server with `<name>_behaviour`:
    a migrated database holding the 1M-profile / 5M-event data set, kept between runs."""
    explicit = os.environ.get("BENCH_BEHAVIOUR_DATABASE_URL")
    if explicit:
        return explicit
    return delivery_database_url().replace("_delivery", "_behaviour", 1)


import environ  # noqa: E402

DATABASES["behaviour"] = environ.Env.db_url_config(behaviour_database_url())  # noqa: F405
