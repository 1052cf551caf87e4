"""Render the Jinja2 templates in ``dashboards/templates`` into saved objects (ndjson).

The templates write each object in readable nested JSON. OpenSearch Dashboards stores some
attributes as JSON *strings* (``visState``, ``panelsJSON``, ``searchSourceJSON``, …); the
renderer serializes those, so no template ever hand-escapes JSON inside JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from bitacora import schema
from bitacora.dashboards import definitions
from bitacora.dashboards.definitions import IndexName
from bitacora.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: Attributes Dashboards keeps as JSON strings, including nested ``a.b`` paths.
STRING_ATTRIBUTES: tuple[str, ...] = (
    "visState",
    "uiStateJSON",
    "panelsJSON",
    "optionsJSON",
    "kibanaSavedObjectMeta.searchSourceJSON",
)
#: The saved-object id of the index pattern of each ``index`` name of the definitions.
PATTERN_IDS: dict[str, str] = {
    "logs": "bitacora-logs",
    "alerts": "bitacora-alerts",
    "deadletter": "bitacora-deadletter",
}
#: The Flores Victoria services that get a saved search of their own.
DEFAULT_SERVICES: tuple[str, ...] = (
    "user-service",
    "contact-service",
    "review-service",
    "product-service",
    "order-service",
)


@dataclass(frozen=True)
class DashboardParams:
    """What the templates are rendered with."""

    logs_pattern: str = schema.LOGS_PATTERN
    alerts_pattern: str = schema.ALERTS_PATTERN
    deadletter_pattern: str = schema.DEADLETTER_PATTERN
    services: tuple[str, ...] = DEFAULT_SERVICES
    error_severity: int = schema.SEVERITY["error"]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> DashboardParams:
        """The defaults (Settings has no dashboard fields yet; kept as the entry point)."""
        del settings
        return cls()

    def definitions(self) -> definitions.Definitions:
        """The dashboards of ``definitions.yaml`` for these services and severity."""
        return definitions.load(self.services, self.error_severity)

    def patterns(self) -> dict[IndexName, str]:
        """The index pattern behind each ``index`` name of the definitions."""
        return {
            "logs": self.logs_pattern,
            "alerts": self.alerts_pattern,
            "deadletter": self.deadletter_pattern,
        }

    def context(self) -> dict[str, Any]:
        """The variables the templates see."""
        defs = self.definitions()
        searches = {s.id for s in defs.searches}
        return {
            "index_patterns": [
                {"id": PATTERN_IDS[name], "title": pattern}
                for name, pattern in self.patterns().items()
            ],
            "pattern_ids": PATTERN_IDS,
            "searches": [s.model_dump() for s in defs.searches],
            "visualizations": [v.model_dump() for v in defs.visualizations],
            "dashboards": [
                {
                    **d.model_dump(),
                    "panels": [
                        ("search" if p.ref in searches else "visualization", p.ref, p.width)
                        for p in d.panels
                    ],
                }
                for d in defs.dashboards
            ],
            **self.extra,
        }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # JSON output; every value is written through |tojson
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )


def _stringify(attributes: dict[str, Any]) -> None:
    for path in STRING_ATTRIBUTES:
        *parents, leaf = path.split(".")
        node: Any = attributes
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node and not isinstance(node[leaf], str):
            node[leaf] = json.dumps(node[leaf], separators=(",", ":"), sort_keys=True)


def render_objects(params: DashboardParams | Settings | None = None) -> list[dict[str, Any]]:
    """Every saved object, in template order (index patterns first, dashboards last)."""
    if params is None:
        params = DashboardParams()
    elif isinstance(params, Settings):
        params = DashboardParams.from_settings(params)
    env = _environment()
    objects: list[dict[str, Any]] = []
    for name in sorted(env.list_templates(filter_func=lambda n: not n.startswith("_"))):
        text = env.get_template(name).render(params.context())
        try:
            rendered = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"template {name} did not render valid JSON: {exc}") from exc
        for obj in rendered:
            _stringify(obj["attributes"])
            objects.append(obj)
    return objects


def render(params: DashboardParams | Settings | None = None) -> str:
    """The saved objects as ndjson, one object per line, ready for ``_import``."""
    lines = [
        json.dumps(obj, separators=(",", ":"), sort_keys=True) for obj in render_objects(params)
    ]
    return "\n".join(lines) + "\n"
