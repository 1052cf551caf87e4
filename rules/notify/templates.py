"""Alert texts: subjects and bodies rendered safely.

Only rule authors' templates are ever compiled (in a ``SandboxedEnvironment``, once per
rule); log text reaches them only as variables, so ``{{ 7*7 }}`` in a message stays
``{{ 7*7 }}``. ElastAlert2's ``alert_subject``/``alert_text`` with ``*_args`` use
``str.format`` with the looked-up values as arguments (the values are not re-parsed);
``alert_text_kw`` maps looked-up fields to ``str.format`` keywords instead;
``alert_text_type: alert_text_jinja`` renders ``alert_text`` with the match's fields as
variables. ``kibana_discover_url`` (with ``generate_kibana_discover_url``) is the alert's
OpenSearch Dashboards Discover link. An aggregated alert's summary table is appended
(``aggregation_summary_only``: the table alone). The HTML environment autoescapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from bitacora.fields import lookup
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule

_TEXT_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML_ENV = SandboxedEnvironment(autoescape=True)

_BODY = _TEXT_ENV.from_string(
    """{{ rule }}{% if status == "resolved" %} (resolved){% endif %}
{% if key != "all" %}Key: {{ key }}
{% endif %}{% if intro %}
{{ intro }}
{% endif %}
{{ count }} event(s) between {{ first }} and {{ last }}.
{% for name, value in extra %}{{ name }}: {{ value }}
{% endfor %}Search: {{ search_url }}
        {{ search_command }}
{% if fields %}
{% for name, value in fields %}{{ name }}: {{ value }}
{% endfor %}{% endif %}"""
)
_HTML = _HTML_ENV.from_string(
    """<html><body><h3>{{ subject }}</h3><pre>{{ body }}</pre>"""
    """<p><a href="{{ search_url }}">Open in Dashboards</a></p></body></html>"""
)


@dataclass(frozen=True)
class Rendered:
    """The texts every destination picks from."""

    subject: str
    body: str
    html: str


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _value(alert: Alert, rule: Rule, name: str) -> Any:
    value = {
        "rule": alert.rule,
        "key": alert.key,
        "count": alert.count,
        "num_hits": alert.count,
        "num_matches": alert.extra.get("num_matches", 1),
    }.get(name)
    if value is None and name in ("kibana_discover_url", "opensearch_discover_url"):
        value = alert.search_url if rule.generate_kibana_discover_url else None
    if value is None:
        value = lookup(alert.event, name)
    if value is None:
        value = alert.extra.get(name)
    return rule.alert_missing_value if value is None else value


def _args(alert: Alert, rule: Rule, names: list[str]) -> list[Any]:
    return [_value(alert, rule, name) for name in names]


def summary_text(alert: Alert, rule: Rule) -> str:
    """An aggregated alert's summary table as aligned text (empty when there is none)."""
    rows = alert.extra.get("summary_table")
    if not rows or not rule.summary_table_fields:
        return ""
    header = [*rule.summary_table_fields, "count"]
    table = [header, *[[_show(cell) for cell in row] for row in rows]]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    return "Aggregation resulted in the following data for summary_table_fields ==> " + (
        ", ".join(rule.summary_table_fields) + ":\n\n" + "\n".join(lines) + "\n"
    )


@lru_cache(maxsize=512)
def _jinja(source: str) -> Any:
    # Compiled once per rule text: the rule author's template, never log text.
    return _TEXT_ENV.from_string(source)


def render(alert: Alert, rule: Rule) -> Rendered:
    """Subject, plain body and HTML body of ``alert``."""
    if rule.alert_subject:
        subject = rule.alert_subject.format(*_args(alert, rule, rule.alert_subject_args))
    else:
        subject = f"Bitácora: {rule.name}" + ("" if alert.key == "all" else f" ({alert.key})")
    if alert.status == "resolved":
        subject = "[RESOLVED] " + subject
    subject = " ".join(subject.split())  # no header injection through newlines
    intro = ""
    if rule.alert_text:
        if rule.alert_text_type == "alert_text_jinja":
            variables = {name.replace(".", "_"): value for name, value in alert.event.items()}
            variables.update(_data=alert.event, alert=alert.model_dump(), rule=rule.name)
            intro = _jinja(rule.alert_text).render(variables)
        elif rule.alert_text_kw:
            intro = rule.alert_text.format(
                **{kw: _value(alert, rule, name) for name, kw in rule.alert_text_kw.items()}
            )
        else:
            intro = rule.alert_text.format(*_args(alert, rule, rule.alert_text_args))
    only_text = rule.alert_text_type in ("alert_text_only", "alert_text_jinja")
    fields = (
        []
        if only_text or rule.alert_text_type == "exclude_fields"
        else sorted((name, _show(value)) for name, value in alert.event.items())
    )
    body = _BODY.render(
        rule=rule.name,
        status=alert.status,
        key=alert.key,
        intro=intro,
        count=alert.count,
        first=alert.first_event_time,
        last=alert.last_event_time,
        extra=sorted((name, _show(value)) for name, value in alert.extra.items()),
        search_url=alert.search_url,
        search_command=alert.search_command,
        fields=fields,
    )
    if only_text:
        body = intro
    summary = summary_text(alert, rule)
    if rule.alert_text_type == "aggregation_summary_only":
        body = summary
    elif summary:
        body = body.rstrip("\n") + "\n\n" + summary
    html = _HTML.render(subject=subject, body=body, search_url=alert.search_url)
    return Rendered(subject, body, html)
