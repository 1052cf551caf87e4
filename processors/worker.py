"""Run processor roles as faust workers (the thin shell behind ``bitacora processor``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import faust

from bitacora.settings import Settings
from processors.app import Role, create_app, internal_topic_names


def build_apps(settings: Settings, roles: Iterable[Role]) -> list[faust.App]:
    """One configured faust app per role, with its agents attached."""
    apps = []
    for role in roles:
        app = create_app(settings, role)
        if role is Role.NORMALIZE:
            from processors.normalize_agent import register_normalize

            register_normalize(app, settings)
        elif role is Role.INDEX:
            from processors.index_agent import register_index
            from processors.storage.indexer import BulkIndexer

            register_index(app, settings, BulkIndexer.from_settings(settings))
        else:
            from processors.alerting import register_alerting

            register_alerting(app, settings)
        apps.append(app)
    return apps


async def ensure_topics(settings: Settings, roles: Iterable[Role]) -> None:
    """Create the pipeline's topics and the roles' internal ones when missing.

    faust ignores a topic that does not exist (in the broker's metadata) when its consumer
    subscribes, and a consumer that missed its internal topic never reads it.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from processors.storage.setup import SetupReport, setup_topics

    await setup_topics(settings, SetupReport(), lambda _line: None)
    wanted: list[NewTopic] = []
    for role in roles:
        plain, changelogs = internal_topic_names(settings, role)
        wanted += [
            NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in plain
        ]
        wanted += [
            NewTopic(
                n,
                settings.topic_partitions,
                settings.topic_replication,
                topic_configs={"cleanup.policy": "compact"},
            )
            for n in changelogs
        ]
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        missing = [t for t in wanted if t.name not in set(await admin.list_topics())]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker raced us
                await admin.create_topics(missing)
        for _ in range(100):  # visible in the metadata within seconds
            if {t.name for t in wanted} <= set(await admin.list_topics()):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def run_worker(settings: Settings, roles: Iterable[Role], *, loglevel: str = "warning") -> None:
    """Run the roles in this process until SIGTERM/SIGINT; one consumer group per role.

    The first app drives the worker; the others start as its child services, so one process
    can run every role (``bitacora run``) or one role can scale out alone.
    """
    roles = list(roles)
    asyncio.run(ensure_topics(settings, roles))
    apps = build_apps(settings, roles)
    worker = faust.Worker(apps[0], *apps[1:], loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
