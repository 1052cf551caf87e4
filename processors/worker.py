"""Run processor roles in one worker process (the thin shell behind ``bitacora processor``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

import faust
import mode
from mode import Service

from bitacora import clients
from bitacora.eventloop import use_event_loop
from bitacora.gctune import tune_for_streaming
from bitacora.processors.alerting.reload import RuleReloader
from bitacora.processors.app import Role, create_app, internal_topic_names
from bitacora.processors.shell.web import Check, WebService
from bitacora.settings import Settings


def build_services(
    settings: Settings, roles: Iterable[Role], env: Mapping[str, str] | None = None
) -> list[Service]:
    """The services of ``roles``: batch consumers for normalize, index and alerting's route
    stage, a faust app for the rest of alerting.

    The alerting app, when there is one, comes first: it drives the faust worker. The
    HTTP service (/healthz, /readyz, /metrics) comes next, so probes answer while the
    roles join their groups.
    """
    from bitacora.processors.shell.batch import BatchRole

    services: list[Service] = []
    checks: list[Check] = []
    for role in roles:
        if role is Role.NORMALIZE:
            from bitacora.processors.normalize.role import NormalizeRole

            services.append(NormalizeRole(settings))
        elif role is Role.INDEX:
            from bitacora.processors.index.role import IndexRole

            services.append(IndexRole(settings))
        else:
            from bitacora.processors.alerting.role import register_alerting

            app = create_app(settings, role)
            route, reloader = register_alerting(app, settings, env or {})
            services[:0] = [app, route, reloader]
            checks.append(_faust_check(app))
    batch_roles = [service for service in services if isinstance(service, BatchRole)]
    checks += [role.readiness_async for role in batch_roles]
    if settings.health_event_interval_s > 0 and batch_roles:
        from bitacora.processors.shell.counters import REGISTRY
        from bitacora.processors.shell.health_events import HealthEvents

        names = [role.role_name for role in batch_roles]
        services.append(HealthEvents(settings, REGISTRY, names))
    web = WebService(settings, checks)
    services.insert(1 if services and isinstance(services[0], faust.App) else 0, web)
    return services


def _faust_check(app: faust.App) -> Check:
    """Ready when the alerting app's consumer has partitions and is not rebalancing."""

    async def check() -> str | None:
        if app.rebalancing:
            return "alerting: rebalancing"
        try:
            assigned = app.consumer.assignment()
        except Exception:  # faust builds its consumer only when the app starts
            assigned = set()
        if not assigned:
            return "alerting: no partitions assigned yet"
        return None

    return check


async def ensure_topics(settings: Settings, roles: Iterable[Role]) -> None:
    """Create the pipeline's topics and the roles' internal ones when missing.

    faust ignores a topic that does not exist (in the broker's metadata) when its consumer
    subscribes, and a consumer that missed its internal topic never reads it.
    """
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from bitacora.processors.storage.setup import SetupReport, setup_topics

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
    admin = clients.kafka_admin(settings)
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


def run_worker(
    settings: Settings,
    roles: Iterable[Role],
    *,
    loglevel: str = "warning",
    env: Mapping[str, str] | None = None,
) -> None:
    """Run the roles in this process until SIGTERM/SIGINT; one consumer group per role.

    With the alerting role the faust worker runs its app and the batch roles as child
    services; without it, mode's worker (faust's base) runs the batch roles alone. One
    process can run every role (``bitacora run``) or one role can scale out alone.
    ``env`` resolves ``${NAME}`` references in rule files (the process environment).
    """
    roles = list(roles)
    use_event_loop(settings.event_loop)  # before the services: faust's app may take a loop
    services = build_services(settings, roles, env)
    for service in services:
        if isinstance(service, WebService):
            service.listen()  # a taken port is one clear error, before Kafka is touched
        if isinstance(service, RuleReloader):
            service.catch_sighup()
    asyncio.run(ensure_topics(settings, roles))
    tune_for_streaming()
    first = services[0]
    worker: mode.Worker
    if isinstance(first, faust.App):
        worker = faust.Worker(first, *services[1:], loglevel=loglevel, quiet=True)
    else:
        worker = mode.Worker(*services, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
