"""Dashboard panels in the console: a definition (``dashboards/definitions.yaml``) → the
OpenSearch request that computes it → rows ready to draw. Pure functions.

The same definitions render the OpenSearch Dashboards saved objects, so a panel here and
its saved visualization count the same events the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bitacora.dashboards.definitions import Bucket, Metric, SavedSearch, Visualization
from bitacora.fields import lookup
from bitacora.search import query as q
from bitacora.search.timeparse import to_nanos

Row = list[Any]


@dataclass(frozen=True)
class PanelData:
    """What one panel shows: time series, labelled values or table rows."""

    starts: list[int] = field(default_factory=list)  # time buckets (ms), for histograms
    width_s: int = 0
    series: dict[str, list[int]] = field(default_factory=dict)
    items: list[tuple[str, float]] = field(default_factory=list)  # bars and controls
    columns: list[str] = field(default_factory=list)  # tables and searches
    rows: list[Row] = field(default_factory=list)

    @property
    def points(self) -> int:
        """How many non-empty data points the panel holds (0: nothing to show)."""
        return (
            sum(1 for values in self.series.values() for v in values if v)
            + sum(1 for _, v in self.items if v)
            + len(self.rows)
        )


def _metric_key(position: int) -> str:
    return f"m{position}"


def _metric_aggs(metrics: tuple[Metric, ...]) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for i, metric in enumerate(metrics, start=1):
        if metric.type == "avg":
            aggs[_metric_key(i)] = {"avg": {"field": metric.field}}
        elif metric.type == "percentiles":
            aggs[_metric_key(i)] = {
                "percentiles": {"field": metric.field, "percents": list(metric.percents)}
            }
    return aggs


def _bucket_agg(
    bucket: Bucket, metrics: tuple[Metric, ...], start_ns: int, end_ns: int, interval: str
) -> dict[str, Any]:
    if bucket.type == "date_histogram":
        return {
            "date_histogram": {
                "field": bucket.field,
                "fixed_interval": interval,
                "min_doc_count": 0,
                "extended_bounds": {"min": start_ns // 1_000_000, "max": (end_ns - 1) // 1_000_000},
            }
        }
    order: dict[str, str] = {"_count": "desc"}
    if bucket.order_by > 1 and metrics[bucket.order_by - 1].type == "avg":
        order = {_metric_key(bucket.order_by): "desc"}
    return {"terms": {"field": bucket.field, "size": bucket.size, "order": order}}


def visualization_body(
    vis: Visualization, params: q.SearchParams, start: datetime, end: datetime
) -> tuple[q.Body, int]:
    """The request computing ``vis`` over ``params``' filters (its query replaced by the
    panel's) between ``start`` and ``end``; also the time bucket width in seconds."""
    panel = q.SearchParams(query=vis.query, services=params.services, index=params.index)
    start_ns, end_ns = to_nanos(start), to_nanos(end)
    interval, width = q.pick_interval(end - start, 40)
    aggs: dict[str, Any] = _metric_aggs(vis.metrics)
    for i, bucket in reversed(list(enumerate(vis.buckets))):
        agg = _bucket_agg(bucket, vis.metrics, start_ns, end_ns, interval)
        if aggs:
            agg["aggs"] = aggs
        aggs = {f"b{i}": agg}
    return {"size": 0, "query": q.query_between(panel, start_ns, end_ns), "aggs": aggs}, width


def _metric_values(bucket: Mapping[str, Any], metrics: tuple[Metric, ...]) -> Row:
    out: Row = []
    for i, metric in enumerate(metrics, start=1):
        if metric.type == "count":
            out.append(int(bucket["doc_count"]))
        elif metric.type == "avg":
            out.append(bucket[_metric_key(i)]["value"])
        else:
            values = bucket[_metric_key(i)]["values"]
            out.extend(values.get(f"{float(p)}") for p in metric.percents)
    return out


def _metric_columns(metrics: tuple[Metric, ...]) -> list[str]:
    cols: list[str] = []
    for metric in metrics:
        if metric.type == "count":
            cols.append("Count")
        elif metric.type == "avg":
            cols.append(f"Average {metric.field}")
        else:
            cols.extend(f"p{p} {metric.field}" for p in metric.percents)
    return cols


def _key(bucket: Mapping[str, Any]) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def visualization_data(vis: Visualization, response: Mapping[str, Any], width_s: int) -> PanelData:
    """The answer to ``visualization_body`` as what the panel draws."""
    if "aggregations" not in response:  # no index matches the pattern yet
        return PanelData(width_s=width_s)
    top = response["aggregations"]["b0"]["buckets"]
    if vis.time_bucketed:
        starts = [int(b["key"]) for b in top]
        series: dict[str, list[int]] = {}
        for i, bucket in enumerate(top):
            subs = bucket.get("b1", {}).get("buckets")
            if subs is None:
                series.setdefault("Count", [0] * len(top))[i] = int(bucket["doc_count"])
                continue
            for sub in subs:
                series.setdefault(_key(sub), [0] * len(top))[i] = int(sub["doc_count"])
        return PanelData(starts=starts, width_s=width_s, series=series)
    if vis.chart in ("horizontal_bar", "control"):
        return PanelData(items=[(_key(b), float(b["doc_count"])) for b in top])
    rows: list[Row] = []

    def walk(buckets: list[Mapping[str, Any]], depth: int, prefix: Row) -> None:
        for bucket in buckets:
            here = [*prefix, _key(bucket)]
            nested = bucket.get(f"b{depth + 1}")
            if nested is not None:
                walk(nested["buckets"], depth + 1, here)
            else:
                rows.append(here + _metric_values(bucket, vis.metrics))

    walk(top, 0, [])
    columns = [b.field for b in vis.buckets] + _metric_columns(vis.metrics)
    return PanelData(columns=columns, rows=rows)


def search_body(
    search: SavedSearch, params: q.SearchParams, start: datetime, end: datetime, size: int = 20
) -> q.Body:
    """The newest ``size`` events of a saved search within the range."""
    panel = q.SearchParams(
        query=search.query, start=start, end=end, services=params.services, index=params.index
    )
    return q.search_body(panel, size=size, forward=False)


def search_data(search: SavedSearch, response: Mapping[str, Any]) -> PanelData:
    """The answer to ``search_body`` as table rows: the time, then the search's columns."""
    rows = [
        [lookup(hit["_source"], "@timestamp")] + [lookup(hit["_source"], c) for c in search.columns]
        for hit in response["hits"]["hits"]
    ]
    return PanelData(columns=["@timestamp", *search.columns], rows=rows)
