"""Templates: log text is data, never template; ElastAlert2 subject/text args; HTML escaped."""

from __future__ import annotations

from typing import Any

from bitacora.rules.alerts import build_alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.email import email_message
from bitacora.rules.notify.destinations.slack import slack_payload
from bitacora.rules.notify.destinations.webhook import webhook_payload
from bitacora.rules.notify.templates import render
from bitacora.rules.types import Match
from tests.unit.rules.util import T0, ev

NASTY = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} <script>alert(1)</script> {0} ${x}"


def make_alert(rule: Rule, **fields: Any) -> Any:
    event = ev(0, message=NASTY, **fields)
    return build_alert(
        Match(rule.name, "all", "firing", event, 1, T0, T0, [event]), rule, "http://dash", now=T0
    )


def test_log_text_in_default_body_stays_literal() -> None:
    rule = Rule(name="r", type="any")
    rendered = render(make_alert(rule), rule)
    assert f"message: {NASTY}\n" in rendered.body
    assert "49" not in rendered.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script>" not in rendered.html


def test_elastalert2_subject_and_text_args() -> None:
    rule = Rule(
        name="r",
        type="any",
        alert_subject="Error in {0}: {1}",
        alert_subject_args=["service.name", "message"],
        alert_text="Count {0}, missing {1}",
        alert_text_args=["num_hits", "nope.field"],
    )
    rendered = render(make_alert(rule), rule)
    assert rendered.subject == "Error in user-service: " + " ".join(NASTY.split())
    assert rendered.body.splitlines()[2] == "Count 1, missing <MISSING VALUE>"


def test_jinja_alert_text_renders_fields_as_variables_only() -> None:
    rule = Rule(
        name="r",
        type="any",
        alert_text="{{ service_name }} said: {{ message }} ({{ _data['log.level'] }})",
        alert_text_type="alert_text_jinja",
    )
    rendered = render(make_alert(rule), rule)
    assert rendered.body == f"user-service said: {NASTY} (error)"


def test_sandbox_blocks_unsafe_rule_templates() -> None:
    import pytest
    from jinja2.exceptions import SecurityError

    rule = Rule(
        name="r",
        type="any",
        alert_text="{{ ''.__class__.__mro__ }}",
        alert_text_type="alert_text_jinja",
    )
    with pytest.raises(SecurityError):
        render(make_alert(rule), rule)


def test_subject_newlines_cannot_inject_headers() -> None:
    rule = Rule(name="r", type="any", alert_subject="{0}", alert_subject_args=["message"])
    alert = make_alert(rule)
    alert.event["message"] = "x\r\nBcc: victim@example.com"
    assert render(alert, rule).subject == "x Bcc: victim@example.com"


def test_payloads_carry_log_text_literally() -> None:
    rule = Rule(
        name="r",
        type="any",
        alert=["post", "slack", "email"],
        http_post_url="http://127.0.0.1:1/",
        slack_webhook_url="http://127.0.0.1:1/",
        email=["oncall@example.com"],
    )
    alert = make_alert(rule)
    rendered = render(alert, rule)
    assert webhook_payload(alert, rule.options_for("post"))["message"] == NASTY
    slack = slack_payload(alert, rule.options_for("slack"), rendered)
    assert "{{ 7*7 }}" in slack["blocks"][1]["text"]["text"]
    assert "&lt;script&gt;" in slack["blocks"][1]["text"]["text"]  # Slack's own escaping
    message, recipients = email_message(
        alert, rule.options_for("email"), rendered, "bitacora@localhost"
    )
    assert NASTY in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert recipients == ["oncall@example.com"]
