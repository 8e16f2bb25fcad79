"""Test settings: the real settings, with test-only defaults for what must come from the env."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_FORMAT", "text")

from personalize.settings import *  # noqa: F403

# Demo keys go to a per-process scratch file, never to the checkout's var/.
PERSONALIZE_DEMO_KEYS_FILE = os.path.join(tempfile.mkdtemp(prefix="pz-demo-keys-"), "keys.json")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
EMBEDDED_SCHEDULER = False  # a test starts its own scheduler when it needs one
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] = "100000/min"  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["management"] = "100000/min"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PERSONALIZE_VISIT_FLUSH_SECONDS = 0  # visits written when the response closes, no thread
