"""ElastAlert2's incident alerters (Opsgenie, VictorOps, Jira) against a real local
receiver, asserting the exact request each service documents; ``command`` runs a real
process."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import aiohttp

from bitacora.rules.notify.notifier import Notifier
from bitacora.rules.notify.templates import render
from bitacora.settings import Settings
from tests.integration.rules.receivers import http_receiver
from tests.integration.rules.test_destinations import FAST, alert_for, rule

SUBJECT = "Bitácora: error-burst (user-service)"


async def test_opsgenie_create_alert(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        receiver.replies = [(202, {})]
        r = rule(
            alert="opsgenie",
            opsgenie_key="genie-123",
            opsgenie_addr=f"{receiver.url}/v2/alerts",
            opsgenie_recipients=["{who}@shop.example"],
            opsgenie_recipients_args={"who": "service.name"},
            opsgenie_teams=["payments"],
            opsgenie_tags=["svc:{service.name}"],
            opsgenie_priority="P2",
            opsgenie_alias="{service.name}-errors",
            opsgenie_details={"Service": {"field": "service.name"}, "Runbook": "wiki/errors"},
        )
        alert = alert_for(r)
        report = await Notifier(Settings(), session, FAST).deliver(alert, r)
        assert (report.sent, report.failed) == (["opsgenie"], {})
        [request] = receiver.requests
        assert (request.method, request.path) == ("POST", "/v2/alerts")
        assert request.headers["Authorization"] == "GenieKey genie-123"
        assert request.headers["Content-Type"] == "application/json"
        assert request.body == {
            "message": SUBJECT,
            "responders": [
                {"username": "user-service@shop.example", "type": "user"},
                {"name": "payments", "type": "team"},
            ],
            "description": render(alert, r).body,
            "source": "ElastAlert",
            "tags": ["svc:user-service", "Bitácora", "error-burst"],
            "priority": "P2",
            "alias": "user-service-errors",
            "details": {"Service": "user-service", "Runbook": "wiki/errors"},
        }


async def test_victorops_trigger_then_recovery(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        r = rule(
            alert="victorops",
            victorops_api_key="api-key",
            victorops_routing_key="payments",
            victorops_message_type="CRITICAL",
            victorops_url=f"{receiver.url}/integrations/generic/20131114/alert",
        )
        notifier = Notifier(Settings(), session, FAST)
        firing = alert_for(r)
        resolved = alert_for(r, status="resolved")
        assert (await notifier.deliver(firing, r)).sent == ["victorops"]
        assert (await notifier.deliver(resolved, r)).sent == ["victorops"]
        first, second = receiver.requests
        path = "/integrations/generic/20131114/alert/api-key/payments"
        assert (first.method, first.path, second.path) == ("POST", path, path)
        assert first.headers["Content-Type"] == "application/json"
        incident = {
            "entity_display_name": SUBJECT,
            "monitoring_tool": "Bitácora",
            **firing.event,
            "entity_id": firing.dedup_key,
        }
        assert first.body == {
            "message_type": "CRITICAL",
            "state_message": render(firing, r).body,
            **incident,
        }
        assert second.body["message_type"] == "RECOVERY"
        assert second.body["entity_id"] == firing.dedup_key


async def test_jira_issue_and_watchers_with_basic_auth(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    account = tmp_path / "jira_acct.yaml"
    account.write_text("user: bot@shop.example\npassword: s3cret\n", encoding="utf-8")
    async with http_receiver() as receiver:
        receiver.answers = [{"id": "10001", "key": "OPS-7", "self": "x"}]
        r = rule(
            alert="jira",
            jira_server=receiver.url,
            jira_account_file=str(account),
            jira_project="OPS",
            jira_issuetype="Bug",
            jira_labels=["bitacora"],
            jira_components="backend",
            jira_priority="High",
            jira_watchers=["alice"],
        )
        alert = alert_for(r)
        report = await Notifier(Settings(), session, FAST).deliver(alert, r)
        assert (report.sent, report.failed) == (["jira"], {})
        create, watch = receiver.requests
        auth = "Basic " + base64.b64encode(b"bot@shop.example:s3cret").decode()
        assert (create.method, create.path) == ("POST", "/rest/api/2/issue")
        assert create.headers["Authorization"] == auth
        assert create.headers["Content-Type"] == "application/json"
        assert create.body == {
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Bug"},
                "summary": SUBJECT,
                "description": render(alert, r).body,
                "labels": ["bitacora"],
                "components": [{"name": "backend"}],
                "priority": {"name": "High"},
            }
        }
        assert (watch.method, watch.path, watch.body) == (
            "POST",
            "/rest/api/2/issue/OPS-7/watchers",
            "alice",
        )
        assert watch.headers["Authorization"] == auth


async def test_command_runs_with_fields_and_the_match_on_stdin(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    script = (
        "import json, sys; "
        "json.dump({'argv': sys.argv[1:], 'stdin': sys.stdin.read()}, open(sys.argv[1], 'w'))"
    )
    r = rule(
        alert="command",
        command=[sys.executable, "-c", script, str(out), "%(service.name)s", "%(no.such)s"],
        pipe_match_json=True,
        fail_on_non_zero_exit=True,
    )
    alert = alert_for(r)
    report = await Notifier(Settings(), session, FAST).deliver(alert, r)
    assert (report.sent, report.failed) == (["command"], {})
    ran = json.loads(out.read_text(encoding="utf-8"))
    assert ran["argv"] == [str(out), "user-service", "<MISSING VALUE>"]
    assert json.loads(ran["stdin"]) == [{**alert.event, **alert.extra}]


async def test_command_string_is_never_run_by_a_shell(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    marker = tmp_path / "injected"
    out = tmp_path / "argv.json"
    script = "import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], 'w'))"
    r = rule(
        alert="command",
        command=f"{sys.executable} -c \"{script}\" {out} '%(user.name)s'",
    )
    alert = alert_for(r, user__name=f"x; touch {marker}")
    report = await Notifier(Settings(), session, FAST).deliver(alert, r)
    assert report.sent == ["command"]
    assert json.loads(out.read_text(encoding="utf-8")) == [str(out), f"x; touch {marker}"]
    assert not marker.exists()


async def test_command_non_zero_exit_fails_when_asked(session: aiohttp.ClientSession) -> None:
    r = rule(
        alert="command",
        command=[sys.executable, "-c", "raise SystemExit(3)"],
        fail_on_non_zero_exit=True,
    )
    report = await Notifier(Settings(), session, FAST).deliver(alert_for(r), r)
    assert report.sent == []
    assert report.failed["command"].endswith("exited 3")
