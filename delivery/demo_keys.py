"""The demo's API keys, stable across runs: keys are stored hashed, so the plaintext of the
demo site's keys is kept once in a git-ignored local file (`var/demo_keys.json`, see
`PERSONALIZE_DEMO_KEYS_FILE`) and reused while the key it names still works. A key is
minted again only when the stored one is gone, revoked or belongs elsewhere (a fresh
database); the demo keys it replaces are revoked. Local demo use only: `seed_demo`
prints these keys and `/demo/` uses the delivery one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.db import transaction

from tenancy.models import ApiKey, ApiKeyKind, Site
from tenancy.selectors import api_key_resolve
from tenancy.services import api_key_create, api_key_revoke

DemoKeyKind = Literal["delivery", "server"]
DEMO_KEY_NAME = "Demo"


def demo_keys_file() -> Path:
    return Path(settings.PERSONALIZE_DEMO_KEYS_FILE)


def _read() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(demo_keys_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict[str, dict[str, str]]) -> None:
    path = demo_keys_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename, owner-only: the file holds working (local) API keys.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo_keys.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _works(raw: str | None, *, site: Site, kind: str) -> bool:
    if not isinstance(raw, str) or not raw:
        return False
    resolved = api_key_resolve(raw)
    return (
        resolved is not None
        and not resolved.revoked
        and resolved.site_id == site.pk
        and resolved.kind == kind
    )


def demo_key(*, site: Site, kind: DemoKeyKind) -> str:
    """The site's demo key of this kind: the stored one while it works, else a new one."""
    data = _read()
    raw = data.get(site.slug, {}).get(kind)
    if _works(raw, site=site, kind=kind):
        return raw  # type: ignore[return-value]
    with transaction.atomic():
        # Older demo keys whose plaintext is lost can never be printed again: retire them.
        for old in ApiKey.objects.filter(site=site, kind=kind, name=DEMO_KEY_NAME, revoked_at=None):
            api_key_revoke(key=old)
        raw = api_key_create(site=site, kind=ApiKeyKind(kind), name=DEMO_KEY_NAME)[1]
    data = _read()
    data.setdefault(site.slug, {})[kind] = raw
    _write(data)
    return raw
