"""Run processor roles as faust workers (the thin shell behind ``bitacora processor``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import faust

from bitacora.settings import Settings
from processors.app import Role, create_app


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


async def ensure_topics(settings: Settings) -> None:
    """Create the pipeline's topics when missing: faust ignores topics absent at start."""
    from processors.storage.setup import SetupReport, setup_topics

    await setup_topics(settings, SetupReport(), lambda _line: None)


def run_worker(settings: Settings, roles: Iterable[Role], *, loglevel: str = "warning") -> None:
    """Run the roles in this process until SIGTERM/SIGINT; one consumer group per role.

    The first app drives the worker; the others start as its child services, so one process
    can run every role (``bitacora run``) or one role can scale out alone.
    """
    asyncio.run(ensure_topics(settings))
    apps = build_apps(settings, roles)
    worker = faust.Worker(apps[0], *apps[1:], loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
