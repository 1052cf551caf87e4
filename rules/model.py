"""The rule model: ElastAlert2's rule options plus a few Bitácora ones, unknown keys rejected.

Durations are kept in float seconds after validation. Options ElastAlert2 knows and
Bitácora does not use (``es_host``, ``run_every``, other alerters' options, …) never reach
the model: ``rules.elastalert2.sort_options`` drops them with a warning first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from bitacora.rules.notify.destinations import DESTINATIONS
from bitacora.rules.notify.destinations.base import DestinationOptions
from bitacora.rules.option_types import Duration, Scalar, StrList
from bitacora.rules.types import RULE_TYPES

_TYPE_SCHEMA = WithJsonSchema({"enum": list(RULE_TYPES), "title": "Type", "type": "string"})


class RuleBase(BaseModel):
    """A rule's own options; ``Rule`` adds every destination's (from the registry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _destination_options: dict[str, DestinationOptions] = PrivateAttr(default_factory=dict)

    # Identity and selection.
    name: str = Field(min_length=1)
    type: Annotated[str, _TYPE_SCHEMA]
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
    resolve_filter: list[dict[str, Any]] | None = Field(
        default=None,
        description="Bitácora extension (frequency): an event matching these clauses (and "
        "not the filter) resolves its query key's firing alert at once",
    )

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

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in RULE_TYPES:
            raise ValueError(f"unknown rule type {value!r}: use one of {', '.join(RULE_TYPES)}")
        return value

    @field_validator("aggregation", mode="before")
    @classmethod
    def _no_schedule(cls, value: Any) -> Any:
        if isinstance(value, dict) and "schedule" in value:
            raise ValueError(
                "the cron form {schedule: ...} is not supported: give a period such as {minutes: 5}"
            )
        return value

    @model_validator(mode="after")
    def _type_options(self) -> RuleBase:
        RULE_TYPES[self.type].check(self)
        if self.resolve_filter is not None:
            if not RULE_TYPES[self.type].resolvable:
                raise ValueError(f"resolve_filter is not available for rule type {self.type!r}")
            if not self.resolve:
                raise ValueError("resolve_filter needs resolve: true")
        for alerter in self.alert:
            kind = DESTINATIONS.get(alerter)
            if kind is None:
                raise ValueError(f"unknown alerter {alerter!r}: use one of {sorted(DESTINATIONS)}")
            for needed in kind.options.required:
                if getattr(self, needed) is None:
                    raise ValueError(f"alerter {alerter!r} needs option {needed!r}")
            values = {name: getattr(self, name) for name in kind.options.model_fields}
            self._destination_options[alerter] = kind.options.model_validate(values)
        if self.exponential_realert is not None and self.exponential_realert < self.realert:
            raise ValueError("exponential_realert must be at least realert")
        return self

    def options_for(self, alerter: str) -> DestinationOptions:
        """The options of ``alerter`` (one of ``alert``), as its destination's model."""
        return self._destination_options[alerter]

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


def destination_fields() -> dict[str, tuple[Any, FieldInfo]]:
    """Every registered destination's option fields; two destinations may share an option
    only when they declare it alike."""
    fields: dict[str, tuple[Any, FieldInfo]] = {}
    owners: dict[str, str] = {}
    for kind in DESTINATIONS.values():
        for name, info in kind.options.model_fields.items():
            if name in RuleBase.model_fields:
                raise TypeError(f"destination {kind.name!r} option {name!r} is a rule option")
            if name in fields and repr(fields[name][1]) != repr(info):
                raise TypeError(f"option {name!r} of {kind.name!r} differs from {owners[name]!r}'s")
            fields[name] = (info.annotation, info)
            owners.setdefault(name, kind.name)
    return fields


if TYPE_CHECKING:
    Rule = RuleBase
else:
    Rule = create_model(
        "Rule",
        __base__=RuleBase,
        __module__=__name__,
        __doc__="One alert rule, as written in one YAML file.",
        **destination_fields(),
    )
