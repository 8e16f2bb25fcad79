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

from personalize.settings import *  # noqa: E402,F403

ROOT_URLCONF = "benchmarks.urls"
SECURE_HSTS_SECONDS = 0
