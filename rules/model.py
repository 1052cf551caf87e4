"""The rule model: ElastAlert2's rule options plus a few Bitácora ones, unknown keys rejected.

Durations are kept in float seconds after validation. Options ElastAlert2 knows and
Bitácora does not use (``es_host``, ``run_every``, other alerters' options, …) never reach
the model: ``rules.elastalert2.sort_options`` drops them with a warning first.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from bitacora.rules.durations import parse_duration

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|w|d|h|m|s)\s*$"},
        {"type": "number", "minimum": 0},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                unit: {"type": "number", "minimum": 0}
                for unit in ("weeks", "days", "hours", "minutes", "seconds", "milliseconds")
            },
        },
    ],
    "description": "ElastAlert2 mapping like {minutes: 5} or text like '5m' (seconds)",
}
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
StrList = Annotated[
    list[str],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
Scalar = str | int | float | bool

RuleTypeName = Literal[
    "any",
    "frequency",
    "spike",
    "flatline",
    "new_term",
    "change",
    "blacklist",
    "whitelist",
    "cardinality",
    "metric_aggregation",
    "percentage_match",
    "spike_aggregation",
]

# Which options each type needs: checked after parsing so the error names the missing key.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "frequency": ("num_events", "timeframe"),
    "spike": ("spike_height", "spike_type", "timeframe"),
    "flatline": ("threshold", "timeframe"),
    "new_term": (),
    "change": ("compare_key", "query_key"),
    "blacklist": ("compare_key", "blacklist"),
    "whitelist": ("compare_key", "whitelist", "ignore_null"),
    "cardinality": ("cardinality_field", "timeframe"),
    "metric_aggregation": ("metric_agg_key", "metric_agg_type"),
    "percentage_match": ("match_bucket_filter", "buffer_time"),
    "spike_aggregation": (
        "metric_agg_key",
        "metric_agg_type",
        "spike_height",
        "spike_type",
        "timeframe",
    ),
}


# Alerter names (ElastAlert2's) and the option each one needs.
ALERTERS: dict[str, str | None] = {
    "post": "http_post_url",
    "slack": "slack_webhook_url",
    "email": "email",
    "pagerduty": "pagerduty_service_key",
    "alertmanager": "alertmanager_hosts",
    "debug": None,
}


class Rule(BaseModel):
    """One alert rule, as written in one YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Identity and selection.
    name: str = Field(min_length=1)
    type: RuleTypeName
    description: str | None = None
    is_enabled: bool = True
    severity: Literal["critical", "error", "warning", "info"] = "error"
    filter: list[dict[str, Any]] = Field(default_factory=list)
    query_key: str | list[str] | None = None

    # Type options (ElastAlert2 names and meanings).
    timeframe: Duration | None = None
    num_events: int | None = Field(default=None, ge=1)
    threshold: int | None = Field(default=None, ge=0)
    spike_height: float | None = Field(default=None, gt=0)
    spike_type: Literal["up", "down", "both"] | None = None
    threshold_ref: float | None = Field(default=None, ge=0)
    threshold_cur: float | None = Field(default=None, ge=0)
    alert_on_new_data: bool = False
    forget_keys: bool = False
    compare_key: str | list[str] | None = None
    ignore_null: bool | None = None
    blacklist: list[Scalar] | None = None
    whitelist: list[Scalar] | None = None
    fields: list[str | list[str]] | None = None
    terms_window_size: Duration = 30 * 86400.0
    alert_on_missing_field: bool = False
    warmup: Duration = Field(
        default=900.0,
        description="new_term in stream mode: terms seen during this long after a key's first "
        "event are only learned, not alerted (ElastAlert2 instead seeds from a query).",
    )
    max_terms: int = Field(default=10000, ge=1, description="new_term: terms kept per field")
    cardinality_field: str | None = None
    max_cardinality: int | None = Field(default=None, ge=0)
    min_cardinality: int | None = Field(default=None, ge=0)
    metric_agg_key: str | None = None
    metric_agg_type: (
        Literal["min", "max", "avg", "sum", "count", "value_count", "cardinality"] | None
    ) = None
    max_threshold: float | None = None
    min_threshold: float | None = None
    buffer_time: Duration | None = None
    bucket_interval: Duration | None = None
    min_doc_count: int = Field(default=1, ge=0)
    sync_bucket_interval: bool = Field(
        default=False,
        description="metric_aggregation: buckets are always aligned to the epoch on the stream",
    )
    match_bucket_filter: list[dict[str, Any]] | None = None
    min_percentage: float | None = None
    max_percentage: float | None = None
    min_denominator: int = Field(default=0, ge=0)

    # Alerting.
    realert: Duration = 60.0
    exponential_realert: Duration | None = None
    alert: StrList = Field(default_factory=list)
    alert_subject: str | None = None
    alert_subject_args: list[str] = Field(default_factory=list)
    alert_text: str | None = None
    alert_text_args: list[str] = Field(default_factory=list)
    alert_text_type: (
        Literal["alert_text_only", "alert_text_jinja", "exclude_fields", "aggregation_summary_only"]
        | None
    ) = None
    alert_text_kw: dict[str, str] | None = None
    include_match_in_root: bool = False
    generate_kibana_discover_url: bool = False
    kibana_discover_app_url: str | None = None
    kibana_discover_from_timedelta: Duration = 600.0
    kibana_discover_to_timedelta: Duration = 600.0
    aggregation: Duration | None = Field(
        default=None, description="send the matches of this long as one alert (summary)"
    )
    aggregation_key: str | list[str] | None = None
    summary_table_fields: list[str] | None = None
    aggregate_by_match_time: bool = False
    alert_missing_value: str = "<MISSING VALUE>"
    sample_size: int = Field(default=3, ge=0, le=20)
    resolve: bool = Field(
        default=True, description="send resolve notices where the type has an end"
    )

    # Destinations.
    http_post_url: StrList | None = None
    http_post_payload: dict[str, str] | None = None
    http_post_static_payload: dict[str, Any] | None = None
    http_post_headers: dict[str, str] | None = None
    http_post_all_values: bool = False
    http_post_timeout: float = Field(default=10.0, gt=0)
    slack_webhook_url: StrList | None = None
    slack_username_override: str | None = None
    slack_channel_override: str | None = None
    slack_emoji_override: str | None = None
    slack_title: str | None = None
    slack_title_link: str | None = None
    email: StrList | None = None
    cc: StrList | None = None
    bcc: StrList | None = None
    email_reply_to: str | None = None
    from_addr: str | None = None
    pagerduty_service_key: str | None = None
    pagerduty_client_name: str = "Bitácora"
    pagerduty_api_version: Literal["v2"] = "v2"
    pagerduty_v2_payload_severity: Literal["critical", "error", "warning", "info"] | None = None
    pagerduty_v2_payload_source: str | None = None
    pagerduty_v2_payload_class: str | None = None
    pagerduty_v2_payload_component: str | None = None
    pagerduty_v2_payload_group: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    alertmanager_hosts: StrList | None = None
    alertmanager_api_version: Literal["v2"] = "v2"
    alertmanager_alertname: str | None = None
    alertmanager_labels: dict[str, str] | None = None
    alertmanager_annotations: dict[str, str] | None = None
    alertmanager_fields: dict[str, str] | None = None

    # ElastAlert2 options with a meaning here (the rest are dropped with a warning by
    # rules.elastalert2 before validation).
    index: str | None = Field(
        default=None, description="where `rules test` reads events (default logs-*)"
    )
    use_strftime_index: bool | None = None
    timestamp_field: str = Field(
        default="@timestamp", description="event time field of raw events (`rules test`)"
    )
    top_count_keys: list[str] | None = None
    top_count_number: int = Field(default=5, ge=1)
    raw_count_keys: bool | None = None
    include: list[str] | None = None
    owner: str | None = None
    priority: int | None = None
    category: str | None = None

    @model_validator(mode="after")
    def _type_options(self) -> Rule:
        for option in _REQUIRED.get(self.type, ()):
            if getattr(self, option) is None:
                raise ValueError(f"rule type {self.type!r} needs option {option!r}")
        if (
            self.type == "cardinality"
            and self.max_cardinality is None
            and self.min_cardinality is None
        ):
            raise ValueError("cardinality needs max_cardinality or min_cardinality")
        if (
            self.type == "metric_aggregation"
            and self.max_threshold is None
            and self.min_threshold is None
        ):
            raise ValueError("metric_aggregation needs max_threshold or min_threshold")
        if self.type == "new_term" and not self.fields and self.query_key is None:
            raise ValueError("new_term needs option 'fields' (or a query_key)")
        if self.type in ("blacklist", "whitelist") and not isinstance(self.compare_key, str):
            raise ValueError(f"{self.type} needs compare_key to be one field name")
        for alerter in self.alert:
            if alerter not in ALERTERS:
                raise ValueError(f"unknown alerter {alerter!r}: use one of {sorted(ALERTERS)}")
            needed = ALERTERS[alerter]
            if needed is not None and getattr(self, needed) is None:
                raise ValueError(f"alerter {alerter!r} needs option {needed!r}")
        if self.type == "percentage_match" and (
            self.min_percentage is None and self.max_percentage is None
        ):
            raise ValueError("percentage_match needs min_percentage or max_percentage")
        if self.type == "spike_aggregation" and self.bucket_interval is not None:
            raise ValueError("spike_aggregation takes no bucket_interval (as in ElastAlert2)")
        if self.exponential_realert is not None and self.exponential_realert < self.realert:
            raise ValueError("exponential_realert must be at least realert")
        return self

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The query_key fields as a tuple (empty: one key, ``all``, for the whole rule)."""
        if self.query_key is None:
            return ()
        return (self.query_key,) if isinstance(self.query_key, str) else tuple(self.query_key)

    @property
    def compare_fields(self) -> tuple[str, ...]:
        """compare_key as a tuple of fields."""
        if self.compare_key is None:
            return ()
        return (self.compare_key,) if isinstance(self.compare_key, str) else tuple(self.compare_key)
