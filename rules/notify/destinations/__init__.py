"""The destination registry: ElastAlert2 alerter name → options model and sender.

Each destination is one module of this folder declaring ``KIND`` (see ``base``); adding one
is one module and one entry below. The rule model and ``rules/schema.json`` take every
destination's options from here.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import (
    alertmanager,
    command,
    debug,
    discord,
    email,
    googlechat,
    jira,
    mattermost,
    ms_power_automate,
    ms_teams,
    opsgenie,
    pagerduty,
    rocketchat,
    slack,
    telegram,
    victorops,
    webhook,
)
from bitacora.rules.notify.destinations.base import DestinationKind

DESTINATIONS: dict[str, DestinationKind[Any]] = {
    kind.name: kind
    for kind in (
        webhook.KIND,
        slack.KIND,
        email.KIND,
        pagerduty.KIND,
        alertmanager.KIND,
        ms_teams.KIND,
        ms_power_automate.KIND,
        opsgenie.KIND,
        telegram.KIND,
        discord.KIND,
        mattermost.KIND,
        googlechat.KIND,
        rocketchat.KIND,
        jira.KIND,
        victorops.KIND,
        command.KIND,
        debug.KIND,
    )
}
