"""``bitacora setup``: topics, index templates, ISM policy and data streams, idempotently.

The decisions are pure (:func:`plan_topics`, :func:`template_action`); :func:`setup` only
asks Kafka and OpenSearch what exists and sends what is missing or changed. Run it twice
and the second run changes nothing. Existing topics are never altered: a topic with fewer
partitions than configured is reported, because adding partitions re-maps keys (a service's
events would stop being ordered across the change) and that is the operator's call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

# aiokafka ships no type information (no py.typed marker).
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, for_code

from bitacora import clients, schema
from bitacora.errors import StackError
from bitacora.processors.storage.ism import (
    ISM_POLICIES_PATH,
    ISM_POLICY_ID,
    ism_action,
    ism_answers,
    ism_request,
)
from bitacora.processors.storage.templates import index_templates
from bitacora.settings import Settings

Progress = Callable[[str], object]
TOPIC_ALREADY_EXISTS: Final = 36  # Kafka error code: another setup created it meanwhile


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """What to do with each configured topic."""

    create: dict[str, int] = field(default_factory=dict)  # name -> partitions
    ok: list[str] = field(default_factory=list)
    fewer_partitions: dict[str, tuple[int, int]] = field(default_factory=dict)  # (have, want)


def desired_topics(settings: Settings) -> dict[str, int]:
    """Every topic Bitácora uses, with its configured partition count."""
    names = (
        settings.topic_raw,
        settings.topic_normalized,
        settings.topic_deadletter,
        settings.topic_alerts,
    )
    return dict.fromkeys(names, settings.topic_partitions)


def plan_topics(desired: Mapping[str, int], existing: Mapping[str, int]) -> TopicPlan:
    """Compare wanted topics (name -> partitions) with what the cluster has."""
    plan = TopicPlan()
    for name, partitions in desired.items():
        have = existing.get(name)
        if have is None:
            plan.create[name] = partitions
        elif have < partitions:
            plan.fewer_partitions[name] = (have, partitions)
        else:
            plan.ok.append(name)
    return plan


def template_action(desired: Mapping[str, Any], existing: Mapping[str, Any] | None) -> str:
    """``"create"``, ``"update"`` or ``"unchanged"`` for an index template.

    ``existing`` is the ``index_template`` OpenSearch returns (None when absent); templates
    are compared by the digest they carry in ``_meta`` (see templates.py).
    """
    if existing is None:
        return "create"
    have = (existing.get("_meta") or {}).get("bitacora_hash")
    return "unchanged" if have == desired["_meta"]["bitacora_hash"] else "update"


def streams_to_roll(
    template_name: str,
    desired_hash: str,
    data_streams: Sequence[Mapping[str, Any]],
    write_index_hashes: Mapping[str, str | None],
) -> list[str]:
    """Data streams of ``template_name`` whose write index has another mapping digest.

    ``data_streams`` is ``GET _data_stream/<patterns>``'s list (the last backing index is
    the write index); ``write_index_hashes`` maps index name to its ``mappings._meta``
    digest (None: created before digests existed). Streams of other templates (a more
    specific, higher-priority one) are not ours to roll.
    """
    stale = []
    for stream in data_streams:
        if stream.get("template") != template_name or not stream.get("indices"):
            continue
        write_index = stream["indices"][-1]["index_name"]
        if write_index_hashes.get(write_index) != desired_hash:
            stale.append(stream["name"])
    return stale


@dataclass(slots=True)
class SetupReport:
    """What one :func:`setup` run found and changed."""

    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when this run created or updated anything."""
        return bool(self.changes)


class _OpenSearch:
    """Just enough of the REST API for setup: one JSON request at a time."""

    def __init__(self, settings: Settings) -> None:
        self.url = clients.opensearch_url(settings)
        self._session = clients.opensearch_session(settings, timeout_s=60)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        try:
            async with self._session.request(
                method, self.url + path, data=data, headers={"Content-Type": "application/json"}
            ) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise StackError(
                f"OpenSearch at {self.url} is not reachable ({exc}): "
                "start it (`bitacora stack up`) or set BITACORA_OPENSEARCH_URL"
            ) from exc
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")

    async def close(self) -> None:
        await self._session.close()


async def _existing_topics(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    # list_topics first: a metadata request naming a missing topic may auto-create it.
    present = set(await admin.list_topics()) & set(names)
    if not present:
        return {}
    described = await admin.describe_topics(sorted(present))
    return {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}


async def _wait_for_topics(
    admin: AIOKafkaAdminClient, names: Sequence[str], timeout_s: float = 30.0
) -> None:
    # A created topic reaches the brokers' metadata a moment later; producers started right
    # after setup must find it, and a second setup must see it as existing.
    deadline = time.monotonic() + timeout_s
    while True:
        missing = set(names) - set(await admin.list_topics())
        if not missing:
            return
        if time.monotonic() > deadline:
            raise StackError(f"topics {sorted(missing)} were created but never became visible")
        await asyncio.sleep(0.1)


async def setup_topics(settings: Settings, report: SetupReport, progress: Progress) -> None:
    """Create the missing topics; report the ones with fewer partitions than configured."""
    desired = desired_topics(settings)
    try:
        await clients.kafka_preflight(settings)
    except KafkaConnectionError as exc:
        raise StackError(
            f"{exc}: start it (`bitacora stack up`) or set BITACORA_KAFKA_BOOTSTRAP"
        ) from exc
    admin = clients.kafka_admin(settings, client_id="bitacora-setup")
    try:
        await admin.start()
    except Exception as exc:  # aiokafka raises its own and OS errors alike
        await admin.close()
        raise StackError(
            f"Kafka at {settings.kafka_bootstrap} is not reachable ({exc}): "
            "start it (`bitacora stack up`) or set BITACORA_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        plan = plan_topics(desired, await _existing_topics(admin, list(desired)))
        raced: set[str] = set()
        if plan.create:
            response = await admin.create_topics(
                [
                    NewTopic(name, partitions, settings.topic_replication)
                    for name, partitions in plan.create.items()
                ]
            )
            for name, code, *message in response.topic_errors:
                if code == TOPIC_ALREADY_EXISTS:
                    raced.add(name)  # created meanwhile, or not yet in the metadata we read
                elif code != 0:
                    raise StackError(
                        f"cannot create topic {name}: {for_code(code).__name__} {message}"
                    )
            await _wait_for_topics(admin, list(plan.create))
        for name, partitions in plan.create.items():
            if name in raced:
                plan.ok.append(name)
                continue
            report.changes.append(f"topic {name}: created with {partitions} partitions")
            progress(report.changes[-1])
        for name in plan.ok:
            progress(f"topic {name}: exists")
        for name, (have, want) in plan.fewer_partitions.items():
            note = (
                f"topic {name}: has {have} partitions, configured {want}; left as is "
                "(adding partitions re-maps keys: do it deliberately with kafka-topics --alter)"
            )
            report.notes.append(note)
            progress(note)
    finally:
        await admin.close()


async def setup_templates(
    client: _OpenSearch,
    templates: Mapping[str, Mapping[str, Any]],
    report: SetupReport,
    progress: Progress,
) -> None:
    """Put each index template that is missing or differs from the shipped one."""
    for name, body in templates.items():
        status, payload = await client.request("GET", f"/_index_template/{name}")
        existing = None
        if status == 200:
            existing = payload["index_templates"][0]["index_template"]
        elif status != 404:
            raise StackError(f"cannot read index template {name}: HTTP {status} {payload}")
        action = template_action(body, existing)
        if action == "unchanged":
            progress(f"index template {name}: up to date")
            continue
        status, payload = await client.request("PUT", f"/_index_template/{name}", body)
        if status != 200:
            raise StackError(f"cannot put index template {name}: HTTP {status} {payload}")
        report.changes.append(f"index template {name}: {action}d")
        progress(report.changes[-1])


async def setup_data_streams(
    client: _OpenSearch, names: Sequence[str], report: SetupReport, progress: Progress
) -> None:
    """Create the data streams that must exist before their first document."""
    for name in names:
        status, payload = await client.request("GET", f"/_data_stream/{name}")
        if status == 200 and payload.get("data_streams"):
            progress(f"data stream {name}: exists")
            continue
        status, payload = await client.request("PUT", f"/_data_stream/{name}")
        if status == 400 and "resource_already_exists" in json.dumps(payload):
            progress(f"data stream {name}: exists")  # another setup won the race
            continue
        if status != 200:
            raise StackError(f"cannot create data stream {name}: HTTP {status} {payload}")
        report.changes.append(f"data stream {name}: created")
        progress(report.changes[-1])


async def roll_stale_streams(
    client: _OpenSearch,
    templates: Mapping[str, Mapping[str, Any]],
    report: SetupReport,
    progress: Progress,
) -> None:
    """Roll over data streams still writing with an older mapping than their template's.

    A template change only applies to backing indices created after it; without this a
    changed field type would keep failing (or missing) until the next ISM rollover.
    """
    for name, body in templates.items():
        patterns = ",".join(body["index_patterns"])
        status, payload = await client.request("GET", f"/_data_stream/{patterns}")
        if status != 200:
            raise StackError(f"cannot list data streams {patterns}: HTTP {status} {payload}")
        streams = [s for s in payload["data_streams"] if s.get("template") == name]
        hashes: dict[str, str | None] = {}
        writes = [s["indices"][-1]["index_name"] for s in streams if s.get("indices")]
        for start in range(0, len(writes), 50):  # keep the URL short
            chunk = ",".join(writes[start : start + 50])
            status, metas = await client.request(
                "GET", f"/{chunk}/_mapping?filter_path=*.mappings._meta"
            )
            if status != 200:
                raise StackError(f"cannot read mappings of {chunk}: HTTP {status} {metas}")
            for index, mapping in (metas or {}).items():
                hashes[index] = ((mapping.get("mappings") or {}).get("_meta") or {}).get(
                    "bitacora_hash"
                )
        for stream in streams_to_roll(name, body["_meta"]["bitacora_hash"], streams, hashes):
            status, answer = await client.request("POST", f"/{stream}/_rollover")
            if status in (400, 404) and "does not exist" in json.dumps(answer):
                continue  # deleted meanwhile: nothing to roll
            if status != 200:
                raise StackError(f"cannot roll over {stream}: HTTP {status} {answer}")
            report.changes.append(
                f"data stream {stream}: rolled over to {answer['new_index']} (mapping changed)"
            )
            progress(report.changes[-1])


async def setup(
    settings: Settings,
    *,
    progress: Progress = print,
    templates: Mapping[str, Mapping[str, Any]] | None = None,
    data_streams: Sequence[str] | None = None,
    ism: bool = True,
) -> SetupReport:
    """Create topics, index templates, the ISM policy and data streams; idempotent.

    Data streams whose write index predates a template change are rolled over, so the new
    mapping applies from the next document on.

    ``templates`` (name -> body) and ``data_streams`` default to Bitácora's own
    (templates.py, ``bitacora-alerts`` and ``bitacora-deadletter``); tests pass isolated
    copies. ``logs-<service>`` streams are created by their first document.
    """
    report = SetupReport()
    await setup_topics(settings, report, progress)
    client = _OpenSearch(settings)
    try:
        wanted = index_templates(settings) if templates is None else templates
        await setup_templates(client, wanted, report, progress)
        if ism:
            await setup_ism(client, settings, report, progress)
        streams = (schema.ALERTS_STREAM, schema.DEADLETTER_STREAM)
        await setup_data_streams(
            client, streams if data_streams is None else data_streams, report, progress
        )
        await roll_stale_streams(client, wanted, report, progress)
    finally:
        await client.close()
    return report


async def setup_ism(
    client: _OpenSearch, settings: Settings, report: SetupReport, progress: Progress
) -> None:
    """Put the retention policy if the ISM plugin answers; else say how retention works."""
    status, payload = await client.request("GET", f"{ISM_POLICIES_PATH}/{ISM_POLICY_ID}")
    if not ism_answers(status, payload):
        note = "ISM not installed: retention enforced by `bitacora retention apply`"
        report.notes.append(note)
        progress(note)
        return
    body = ism_request(settings)
    existing = payload if status == 200 else None
    action = ism_action(body, existing)
    if action == "unchanged":
        progress(f"ISM policy {ISM_POLICY_ID}: up to date")
        return
    path = f"{ISM_POLICIES_PATH}/{ISM_POLICY_ID}"
    if existing is not None:  # an update must name the version it replaces
        path += f"?if_seq_no={existing['_seq_no']}&if_primary_term={existing['_primary_term']}"
    status, answer = await client.request("PUT", path, body)
    if status not in (200, 201):
        raise StackError(f"cannot put ISM policy {ISM_POLICY_ID}: HTTP {status} {answer}")
    report.changes.append(f"ISM policy {ISM_POLICY_ID}: {action}d")
    progress(report.changes[-1])
