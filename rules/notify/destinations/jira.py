"""Jira issues through the REST API v2 over aiohttp (ElastAlert2's ``jira`` alerter).

``POST <jira_server>/rest/api/2/issue`` with HTTP basic auth and ``{"fields": {"project":
{"key"}, "issuetype": {"name"}, "summary", "description", "labels"?, "components"?:
[{"name"}], "priority"?: {"name"}, "assignee"?: {"name"}, "parent"?: {"key"}}}``; then,
for each of ``jira_watchers``, ``POST /rest/api/2/issue/<key>/watchers`` with the user
name as a JSON string. The credentials come from ``jira_account_file``, a YAML file with
``user`` and ``password`` (ElastAlert2's format), read at each send so the rule file
holds no secret. Searching and bumping existing tickets (``jira_bump_*``) is not done:
each alert opens an issue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.option_types import StrList


class JiraOptions(base.DestinationOptions):
    """``jira``: ElastAlert2's Jira options (issue creation)."""

    required = ("jira_server", "jira_account_file", "jira_project", "jira_issuetype")

    jira_server: str | None = None
    jira_account_file: str | None = None
    jira_project: str | None = None
    jira_issuetype: str | None = None
    jira_components: StrList | None = None
    jira_labels: StrList | None = None
    jira_description: str = ""
    jira_assignee: str | None = None
    jira_priority: str | None = None
    jira_parent: str | None = None
    jira_watchers: StrList | None = None


def jira_issue(options: JiraOptions, rendered: base.Rendered) -> dict[str, Any]:
    """The create-issue body."""
    fields: dict[str, Any] = {
        "project": {"key": options.jira_project},
        "issuetype": {"name": options.jira_issuetype},
        "summary": rendered.subject,
        "description": options.jira_description + rendered.body,
    }
    if options.jira_labels:
        fields["labels"] = list(options.jira_labels)
    if options.jira_components:
        fields["components"] = [{"name": name} for name in options.jira_components]
    if options.jira_priority:
        fields["priority"] = {"name": options.jira_priority}
    if options.jira_assignee:
        fields["assignee"] = {"name": options.jira_assignee}
    if options.jira_parent:
        fields["parent"] = {"key": options.jira_parent}
    return {"fields": fields}


def read_account(path: str) -> dict[str, str]:
    """The basic-auth header from an ElastAlert2 account file (``user``, ``password``)."""
    return base.basic_auth(*base.read_account_file(path, "jira"))


class JiraDestination(base.Destination[JiraOptions]):
    """Open one issue per alert and add its watchers."""

    async def send(self, alert: base.Alert, options: JiraOptions, rendered: base.Rendered) -> None:
        """Create the issue, then add each watcher."""
        auth = await asyncio.to_thread(read_account, str(options.jira_account_file))
        issues = str(options.jira_server).rstrip("/") + "/rest/api/2/issue"
        created = await base.post_json(self.session, issues, jira_issue(options, rendered), auth)
        key = created.get("key") if isinstance(created, dict) else None
        if key is None:
            raise DestinationError("jira answered without an issue key", permanent=True)
        for watcher in options.jira_watchers or []:
            await base.post_json(self.session, f"{issues}/{key}/watchers", watcher, auth)


KIND = base.DestinationKind("jira", JiraOptions, JiraDestination)
