"""Alert texts: subjects and bodies rendered safely.

Only rule authors' templates are ever compiled (in a ``SandboxedEnvironment``, once per
rule); log text reaches them only as variables, so ``{{ 7*7 }}`` in a message stays
``{{ 7*7 }}``. ElastAlert2's ``alert_subject``/``alert_text`` with ``*_args`` use
``str.format`` with the looked-up values as arguments (the values are not re-parsed);
``alert_text_type: alert_text_jinja`` renders ``alert_text`` with the match's fields as
variables. The HTML environment autoescapes.
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


def _args(alert: Alert, rule: Rule, names: list[str]) -> list[Any]:
    values: list[Any] = []
    for name in names:
        value = {
            "rule": alert.rule,
            "key": alert.key,
            "count": alert.count,
            "num_hits": alert.count,
        }.get(name)
        if value is None:
            value = lookup(alert.event, name)
        if value is None:
            value = alert.extra.get(name)
        values.append(rule.alert_missing_value if value is None else value)
    return values


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
    html = _HTML.render(subject=subject, body=body, search_url=alert.search_url)
    return Rendered(subject, body, html)
