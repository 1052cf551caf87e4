"""Opsgenie Alert API v2 (ElastAlert2's ``opsgenie`` alerter).

``POST <opsgenie_addr>`` (default ``https://api.opsgenie.com/v2/alerts``) with the header
``Authorization: GenieKey <opsgenie_key>`` and ``{"message", "description", "responders":
[{"username", "type": "user"}, {"name", "type": "team"}], "tags", "source", "priority"?,
"alias"?, "entity"?, "user"?, "details"?}``; Opsgenie answers 202. Text options are
ElastAlert2 format strings over the match (``{service.name}``); ``opsgenie_recipients``
and ``opsgenie_teams`` entries may use ``opsgenie_recipients_args`` /
``opsgenie_teams_args`` ({name: field}); a responder that cannot be formed falls back to
the defaults. ``opsgenie_details`` values are text or ``{field: name}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl


class OpsgenieOptions(base.DestinationOptions):
    """``opsgenie``: ElastAlert2's Opsgenie options."""

    required = ("opsgenie_key",)

    opsgenie_key: str | None = None
    opsgenie_addr: str = "https://api.opsgenie.com/v2/alerts"
    opsgenie_account: str | None = None
    opsgenie_recipients: list[str] | None = None
    opsgenie_recipients_args: dict[str, str] | None = None
    opsgenie_default_recipients: list[str] | None = None
    opsgenie_teams: list[str] | None = None
    opsgenie_teams_args: dict[str, str] | None = None
    opsgenie_default_teams: list[str] | None = None
    opsgenie_tags: list[str] = Field(default_factory=list)
    opsgenie_message: str | None = None
    opsgenie_subject: str | None = None
    opsgenie_subject_args: list[str] | None = None
    opsgenie_description: str | None = None
    opsgenie_alias: str | None = None
    opsgenie_priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    opsgenie_details: dict[str, str | dict[str, str]] | None = None
    opsgenie_entity: str | None = None
    opsgenie_source: str = "ElastAlert"
    opsgenie_proxy: ProxyUrl = None

    transport_prefix = "opsgenie_"


def responders(
    names: list[str] | None,
    args: dict[str, str] | None,
    defaults: list[str] | None,
    match: dict[str, Any],
) -> list[str] | None:
    """Responder names with ``{arg}`` filled from the match's fields (ElastAlert2's rule:
    an entry naming an arg the match lacks is dropped; none left: the defaults, else the
    entries as written)."""
    if names is None:
        return None
    values = {name: lookup(match, field) for name, field in (args or {}).items()}
    present = {name: value for name, value in values.items() if value}
    formed = []
    for name in names:
        try:
            formed.append(str(name).format(**present))
        except (KeyError, IndexError, ValueError):
            continue
    return formed or defaults or names


def opsgenie_title(options: OpsgenieOptions, alert: base.Alert, rendered: base.Rendered) -> str:
    """``opsgenie_message``, else ``opsgenie_subject`` with its args, else the subject."""
    match = base.match_of(alert)
    if options.opsgenie_message is not None:
        return base.fill(options.opsgenie_message, match)
    if options.opsgenie_subject is None:
        return rendered.subject
    values = [lookup(match, arg) for arg in options.opsgenie_subject_args or []]
    shown = [base.MISSING if value is None else value for value in values]
    return options.opsgenie_subject.format(*shown) if shown else options.opsgenie_subject


def opsgenie_alert(
    alert: base.Alert, rule_name: str, options: OpsgenieOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The Create Alert request body."""
    match = base.match_of(alert)
    post: dict[str, Any] = {"message": opsgenie_title(options, alert, rendered)}
    if options.opsgenie_account:
        post["user"] = options.opsgenie_account
    users = responders(
        options.opsgenie_recipients,
        options.opsgenie_recipients_args,
        options.opsgenie_default_recipients,
        match,
    )
    teams = responders(
        options.opsgenie_teams, options.opsgenie_teams_args, options.opsgenie_default_teams, match
    )
    found = [{"username": user, "type": "user"} for user in users or []]
    found += [{"name": team, "type": "team"} for team in teams or []]
    if found:
        post["responders"] = found
    description = options.opsgenie_description
    post["description"] = base.fill(description, match) if description else rendered.body
    if options.opsgenie_entity:
        post["entity"] = base.fill(options.opsgenie_entity, match)
    post["source"] = base.fill(options.opsgenie_source, match)
    post["tags"] = [
        base.fill(tag, match) for tag in [*options.opsgenie_tags, "Bitácora", rule_name]
    ]
    if options.opsgenie_priority:
        post["priority"] = options.opsgenie_priority
    if options.opsgenie_alias is not None:
        post["alias"] = base.fill(options.opsgenie_alias, match)
    details = {}
    for name, value in (options.opsgenie_details or {}).items():
        if isinstance(value, dict):
            found_value = lookup(match, value.get("field", ""))
            if found_value is not None:
                details[name] = str(found_value)
        else:
            details[name] = value
    if details:
        post["details"] = details
    return post


class OpsgenieDestination(base.Destination[OpsgenieOptions]):
    """Create one Opsgenie alert."""

    async def send(
        self, alert: base.Alert, options: OpsgenieOptions, rendered: base.Rendered
    ) -> None:
        """Post the alert with the API key."""
        headers = {"Authorization": f"GenieKey {options.opsgenie_key}"}
        body = opsgenie_alert(alert, alert.rule, options, rendered)
        url = base.fill(options.opsgenie_addr, base.match_of(alert))
        await base.post_json(self.session, url, body, headers, options.transport())


KIND = base.DestinationKind("opsgenie", OpsgenieOptions, OpsgenieDestination)
