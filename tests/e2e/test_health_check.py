"""The health check through ``bitacora send`` and the shipped health-check rules.

A shell script prints the common health-check shapes; cron is played by running
``script | bitacora send --service <svc>`` every couple of seconds. The shipped rules
(copied with short windows and a real loopback destination) must: page exactly once for
the failing service, resolve once it passes again, page when the script stops (silence),
and resolve when it comes back. Pages arrive as ElastAlert2 ``post`` webhooks; resolves as
Alertmanager API v2 posts (the webhook destination takes no resolves).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.procs import BITACORA
from bench.services import alerting_lag
from bitacora.rules.fields import lookup
from bitacora.settings import Settings
from tests.integration.rules.receivers import HttpReceiver, http_receiver
from tests.reliability.harness import Pipeline, wait_until

SHIPPED = Path(__file__).parents[2] / "rules" / "shipped"

SCRIPT = """\
#!/bin/sh
# The shapes a health check prints; order-service fails while $FAILING is set.
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) user-service: OK (200 in 12ms)"
echo "[OK] review-service"
echo "service=product-service status=OK latency_ms=8"
echo '{"service": "contact-service", "status": "healthy"}'
if [ -n "$FAILING" ]; then
    echo "[FAIL] order-service: connection refused"
else
    echo "order-service: OK"
fi
"""


def _rule(name: str, service: str, url: str, **windows: Any) -> str:
    """A shipped rule, scoped to this run's service, with short windows and real alerters."""
    rule = yaml.safe_load((SHIPPED / name).read_text())
    rule["name"] = f"{rule['name']}-{service}"
    rule["filter"][0] = {"term": {"service.name": service}}
    rule.update(windows)
    rule["alert"] = ["post", "alertmanager"]
    rule["http_post_url"] = f"{url}/hook/{name.removesuffix('.yaml')}"
    rule["alertmanager_hosts"] = [url]
    return yaml.safe_dump(rule)


async def _cron_run(script: Path, service: str, env: dict[str, str], failing: bool) -> None:
    """One health-check run piped into ``bitacora send``; it must exit 0."""
    run_env = {**os.environ, **env}
    if failing:
        run_env["FAILING"] = "1"
    proc = await asyncio.create_subprocess_shell(
        f"sh {script} 2>&1 | {BITACORA} send --service {service}",
        env=run_env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


def _pages(receiver: HttpReceiver, rule_file: str) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.path == f"/hook/{rule_file}"]


def _resolved(receiver: HttpReceiver, rule: str) -> list[dict[str, Any]]:
    """Alertmanager posts of ``rule`` whose endsAt has passed (resolves; firing ones end
    minutes ahead)."""
    now = time.time()
    out = []
    for request in receiver.requests:
        if request.path != "/api/v2/alerts":
            continue
        for alert in request.body:
            ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00")).timestamp()
            if alert["labels"]["rule"] == rule and ends <= now:
                out.append(alert)
    return out


async def test_failure_pages_once_silence_pages_and_recoveries_resolve(
    settings: Settings, tmp_path: Path
) -> None:
    async with http_receiver() as receiver:
        run = Pipeline(settings)
        service = f"{run.prefix}-health"
        rules = tmp_path / "rules"
        rules.mkdir()
        failed = f"health-check-failed-{service}"
        silent = f"health-check-silent-{service}"
        (rules / "failed.yaml").write_text(
            _rule("health_check_failed.yaml", service, receiver.url, timeframe={"seconds": 8})
        )
        (rules / "silent.yaml").write_text(
            _rule("health_check_silent.yaml", service, receiver.url, timeframe={"seconds": 10})
        )
        script = tmp_path / "health-check.sh"
        script.write_text(SCRIPT)
        run.extra_env.update(
            {
                "BITACORA_RULES_DIR": str(rules),
                "BITACORA_HEALTH_CHECK_SERVICES": service,
                "BITACORA_ALLOWED_LATENESS_S": "1",
            }
        )
        await run.create_topics()
        try:
            run.start_processor(roles=("normalize", "alerting"))
            # Three failing runs: one page, naming the service.
            for _ in range(3):
                await _cron_run(script, service, run.env, failing=True)
                await asyncio.sleep(2)  # cron's interval, shortened
            await wait_until(lambda: _has(_pages(receiver, "health_check_failed")), 120, "page")
            # Passing runs: the failure resolves once a timeframe passes without one.
            until = time.monotonic() + 60
            while not _resolved(receiver, failed):
                assert time.monotonic() < until, "the failure never resolved"
                await _cron_run(script, service, run.env, failing=False)
                await asyncio.sleep(2)
            # The script stops: the silence rule pages.
            await wait_until(lambda: _has(_pages(receiver, "health_check_silent")), 60, "silence")
            assert _resolved(receiver, silent) == []
            # It comes back: the silence resolves.
            await _cron_run(script, service, run.env, failing=False)
            await wait_until(lambda: _has(_resolved(receiver, silent)), 60, "silence resolved")
            await wait_until(lambda: _drained(settings.kafka_bootstrap, run.env), 60, "idle")
            failures = _pages(receiver, "health_check_failed")
            assert len(failures) == 1
            assert lookup(failures[0], "labels.check.service") == "order-service"
            assert lookup(failures[0], "labels.check.status") == "fail"
            assert failures[0]["message"] == "[FAIL] order-service: connection refused"
            assert failures[0]["service.name"] == service
            assert len(_pages(receiver, "health_check_silent")) == 1
            assert [a["labels"]["key"] for a in _resolved(receiver, failed)] == ["order-service"]
            run.assert_alive()
        finally:
            await run.cleanup()


async def _has(items: list[Any]) -> bool:
    return bool(items)


async def _drained(bootstrap: str, env: dict[str, str]) -> bool:
    return await alerting_lag(bootstrap, env) == 0
