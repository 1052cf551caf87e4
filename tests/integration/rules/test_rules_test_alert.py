"""``bitacora rules test --alert`` really sends the replayed alerts to the rule's alerters."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.integration.rules.receivers import http_receiver


async def test_alert_flag_posts_each_alert(tmp_path: Path) -> None:
    async with http_receiver() as receiver:
        rule = tmp_path / "r.yaml"
        rule.write_text(
            "name: sent\ntype: any\nfilter: [{term: {user: bob}}]\nalert: post\n"
            f"http_post_url: {receiver.url}/hook\n"
        )
        data = tmp_path / "events.json"
        docs = [
            {"@timestamp": f"2026-11-15T08:0{i}:00Z", "user": user}
            for i, user in enumerate(["bob", "eve", "bob"])
        ]
        data.write_text(json.dumps(docs))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bitacora",
            "rules",
            "test",
            str(rule),
            "--data",
            str(data),
            "--alert",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        received = await receiver.wait_for(2)
    assert [(r.path, r.body["user"], r.body["@timestamp"]) for r in received] == [
        ("/hook", "bob", "2026-11-15T08:00:00Z"),
        ("/hook", "bob", "2026-11-15T08:02:00Z"),
    ]
    assert err.decode().splitlines() == ["sent to ['post']", "sent to ['post']"]
    assert out.decode().splitlines()[-1] == "2 alert(s) from 3 event(s)"
