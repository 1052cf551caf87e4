"""The ISM retention policy as ``bitacora setup`` installs it, pure.

The policy (hot, rollover, delete after the retention), which policy id, how its version is
recognised, and whether the cluster has ISM at all. ``bitacora retention`` (bitacora/
retention.py) uses the same time and size values where ISM is absent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from bitacora import schema
from bitacora.settings import Settings

ISM_POLICY_ID: Final = "bitacora-logs-retention"
ISM_POLICIES_PATH = "/_plugins/_ism/policies"

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


def parse_duration(text: str) -> timedelta:
    """An OpenSearch time value (``500ms``, ``30s``, ``15m``, ``12h``, ``14d``) → timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 12h or 14d)")
    return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def parse_size(text: str) -> int:
    """An OpenSearch byte size (``512mb``, ``10gb``, ``100``) → bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 512mb or 10gb)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def ism_policy(
    retention_days: int,
    rollover_max_age: str,
    rollover_max_size: str,
    index_patterns: list[str],
    priority: int = 100,
) -> dict[str, Any]:
    """The ISM policy body (``PUT _plugins/_ism/policies/<id>``) for ``index_patterns``.

    ``hot``: roll over at ``rollover_max_age`` or ``rollover_max_size``, then move to
    ``delete`` once the index is ``retention_days`` old, where it is deleted. The
    ``ism_template`` attaches the policy to every new index (or data stream backing index)
    that matches the patterns, so nothing has to attach it by hand.
    """
    parse_duration(rollover_max_age)  # fail early on a typo, not inside the cluster
    parse_size(rollover_max_size)
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    return {
        "policy": {
            "description": (
                f"Bitácora logs: roll over at {rollover_max_age} or {rollover_max_size}, "
                f"delete after {retention_days}d"
            ),
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [
                        {
                            "rollover": {
                                "min_index_age": rollover_max_age,
                                "min_size": rollover_max_size,
                            }
                        }
                    ],
                    "transitions": [
                        {
                            "state_name": "delete",
                            "conditions": {"min_index_age": f"{retention_days}d"},
                        }
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": list(index_patterns), "priority": priority}],
        }
    }


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
