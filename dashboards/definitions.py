"""The shipped dashboards as typed data, loaded from ``definitions.yaml``.

One source for both renderings: ``render.py`` turns these into OpenSearch Dashboards saved
objects and the console (``bitacora ui``) draws them with the request bodies of
``panels.py``. Queries are in the query_string syntax of ``bitacora search``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFINITIONS_FILE = Path(__file__).parent / "definitions.yaml"
IndexName = Literal["logs", "alerts", "deadletter"]
ChartType = Literal["histogram", "horizontal_bar", "table", "control"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Model):
    """One value per bucket: a count, an average or percentiles of a numeric field."""

    type: Literal["count", "avg", "percentiles"]
    field: str | None = None
    percents: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _field_needed(self) -> Metric:
        if self.type != "count" and not self.field:
            raise ValueError(f"a {self.type} metric needs a field")
        return self


class Bucket(_Model):
    """A split: time buckets (``date_histogram``) or the top values of a field (``terms``)."""

    type: Literal["date_histogram", "terms"]
    field: str = "@timestamp"
    size: int = Field(default=10, ge=1)
    order_by: int = Field(default=1, ge=1)  # 1-based position of the metric sorted on


class Visualization(_Model):
    """A chart or table: which events (index, query), how they are counted and split."""

    id: str
    title: str
    chart: ChartType
    index: IndexName
    query: str = ""
    description: str = ""
    stacked: bool = True
    metrics: tuple[Metric, ...] = (Metric(type="count"),)
    buckets: tuple[Bucket, ...] = ()

    @property
    def time_bucketed(self) -> bool:
        """Whether the first split is over time."""
        return bool(self.buckets) and self.buckets[0].type == "date_histogram"

    @property
    def terms(self) -> tuple[Bucket, ...]:
        """The ``terms`` splits, in order."""
        return tuple(b for b in self.buckets if b.type == "terms")


class SavedSearch(_Model):
    """A list of events with chosen columns, newest first."""

    id: str
    title: str
    index: IndexName
    query: str = ""
    columns: tuple[str, ...] = ()
    per_service: bool = False  # one copy per service: ``{service}`` in id, title and query


class PanelRef(_Model):
    """A dashboard panel: a visualization or search id and its width (of 48 columns)."""

    ref: str
    width: Literal[24, 48] = 24


class Dashboard(_Model):
    """Panels on a two-column grid, and the time range it opens with."""

    id: str
    title: str
    description: str = ""
    time_from: str = "now-24h"
    time_restore: bool = False
    panels: tuple[PanelRef, ...]

    @model_validator(mode="before")
    @classmethod
    def _bare_ids(cls, data: object) -> object:
        if isinstance(data, dict) and "panels" in data:
            data = {
                **data,
                "panels": [{"ref": p} if isinstance(p, str) else p for p in data["panels"]],
            }
        return data


class Definitions(_Model):
    """Everything in ``definitions.yaml``, placeholders filled in."""

    searches: tuple[SavedSearch, ...]
    visualizations: tuple[Visualization, ...]
    dashboards: tuple[Dashboard, ...]

    def visualization(self, vis_id: str) -> Visualization | None:
        """The visualization with this id."""
        return next((v for v in self.visualizations if v.id == vis_id), None)

    def search(self, search_id: str) -> SavedSearch | None:
        """The saved search with this id."""
        return next((s for s in self.searches if s.id == search_id), None)

    def dashboard(self, dash_id: str) -> Dashboard | None:
        """The dashboard with this id."""
        return next((d for d in self.dashboards if d.id == dash_id), None)


@cache
def _raw() -> dict[str, object]:
    data = yaml.safe_load(DEFINITIONS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def load(services: tuple[str, ...], error_severity: int) -> Definitions:
    """The definitions with ``{error_severity}`` filled in and per-service searches expanded."""
    raw = _raw()
    base = {"error_severity": str(error_severity)}
    searches: list[dict[str, object]] = []
    for item in raw["searches"]:  # type: ignore[attr-defined]  # checked by the model
        copies = [{"service": s} for s in services] if item.get("per_service") else [{}]
        for extra in copies:
            values = {**base, **extra}
            searches.append(
                {
                    **item,
                    "id": _fill(item["id"], values),
                    "title": _fill(item["title"], values),
                    "query": _fill(item.get("query", ""), values),
                }
            )
    visualizations = [
        {**v, "query": _fill(v.get("query", ""), base)}
        for v in raw["visualizations"]  # type: ignore[attr-defined]  # checked by the model
    ]
    return Definitions.model_validate(
        {"searches": searches, "visualizations": visualizations, "dashboards": raw["dashboards"]}
    )
