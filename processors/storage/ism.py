"""The ISM retention policy as ``bitacora setup`` installs it, pure.

The policy itself is built by :func:`bitacora.retention.ism_policy` (hot, rollover, delete
after the retention); here: which policy id, how its version is recognised, and whether
the cluster has ISM at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from bitacora import schema
from bitacora.retention import ism_policy
from bitacora.settings import Settings

ISM_POLICY_ID: Final = "bitacora-logs-retention"


def ism_answers(status: int, payload: Any) -> bool:
    """Whether ``GET _plugins/_ism/policies/<id>`` came from the ISM plugin.

    Without the plugin OpenSearch answers "no handler found" (400, or 404 on some
    versions); with it, 200 or a 404 for a policy that does not exist yet.
    """
    if status == 200:
        return True
    return status == 404 and "no handler found" not in json.dumps(payload).lower()


def ism_request(settings: Settings) -> dict[str, Any]:
    """The ISM policy for ``logs-*`` (bitacora/retention.py), its digest in the description.

    ISM echoes a policy back with defaults filled in (retry settings, timestamps), so the
    digest of what we sent is what tells "up to date" from "changed".
    """
    body = ism_policy(
        settings.retention_days,
        settings.rollover_max_age,
        settings.rollover_max_size,
        [schema.LOGS_PATTERN],
    )
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    body["policy"]["description"] += f" [bitacora-hash {digest}]"
    return body


def ism_action(desired: Mapping[str, Any], existing: Mapping[str, Any] | None) -> str:
    """``"create"``, ``"update"`` or ``"unchanged"`` for the ISM policy."""
    if existing is None:
        return "create"
    have = (existing.get("policy") or {}).get("description", "")
    return "unchanged" if have == desired["policy"]["description"] else "update"
