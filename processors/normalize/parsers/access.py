"""nginx/Apache access logs: common, combined, and the ingress-nginx upstream format.

``ingress-nginx`` appends ``$request_length $request_time [$proxy_upstream_name]
[$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length
$upstream_response_time $upstream_status $req_id`` to the combined format.
"""

from __future__ import annotations

import re
from typing import Any

from bitacora.processors.normalize.parsers.base import LineParser

_QUOTED = r"\"([^\"\\]*(?:\\.[^\"\\]*)*)\""  # unrolled: no per-character alternation
_ACCESS = re.compile(
    r"(\S+) \S+ (\S+) \[([^\]]+)\] " + _QUOTED + r" (\d{3}) (\d+|-)"
    r"(?: " + _QUOTED + " " + _QUOTED + r")?(.*)",
    re.S,
)
_INGRESS = re.compile(
    r" (\d+) (\d+(?:\.\d+)?) \[([^\]]*)\] \[([^\]]*)\] (\S+) (\S+) (\S+) (\S+) (\S+)\s*"
)
_METHOD = re.compile(r"[A-Z][A-Z_-]{0,19}")


def looks_like_access(line: str) -> bool:
    """Cheap test before the regex: ``<addr> <ident> <user> [<time>] "<request>" ...``."""
    return '] "' in line and line[:1] not in ("{", "[", " ")


def parse_access(line: str) -> dict[str, Any] | None:
    """Hints for an access-log line (see ``parsers.parse_body``), or None."""
    match = _ACCESS.match(line)
    if match is None:
        return None
    addr, user, time, request, status, size, referrer, agent, rest = match.groups()
    hints: dict[str, Any] = {"message": line, "http.response.status_code": int(status)}
    labels: dict[str, Any] = {}
    hints["@labels"] = labels
    hints["@time"] = time
    if addr != "-":
        hints["client.ip"] = addr
    parts = request.split(" ")
    if len(parts) in (2, 3) and _METHOD.fullmatch(parts[0]):
        hints["http.request.method"] = parts[0]
        target = parts[1]
        path, _, query = target.partition("?")
        hints["url.path"] = path
        if query:
            labels["url_query"] = query
        if len(parts) == 3 and parts[2].startswith("HTTP/"):
            labels["http_version"] = parts[2][5:]
    elif request not in ("", "-"):
        labels["request"] = request
    if size != "-":
        labels["bytes_sent"] = int(size)
    # "-" and "" mean absent.
    if user != "-":  # \S+: never empty
        labels["remote_user"] = user
    if referrer and referrer != "-":
        labels["referrer"] = referrer
    if agent and agent != "-":
        labels["user_agent"] = agent
    if rest:
        ingress = _INGRESS.fullmatch(rest)
        if ingress is not None:
            length, seconds, upstream, alternative, u_addr, u_len, u_time, u_status, req_id = (
                ingress.groups()
            )
            labels["request_length"] = int(length)
            hints["event.duration"] = round(float(seconds) * 1_000_000_000)
            upstream_info: dict[str, str] = {}
            if upstream and upstream != "-":
                upstream_info["name"] = upstream
            if alternative and alternative != "-":
                upstream_info["alternative_name"] = alternative
            # The rest are \S+ groups: never empty.
            if u_addr != "-":
                upstream_info["addr"] = u_addr
            if u_len != "-":
                upstream_info["response_length"] = u_len
            if u_time != "-":
                upstream_info["response_time"] = u_time
            if u_status != "-":
                upstream_info["status"] = u_status
            labels["upstream"] = upstream_info
            if req_id != "-":
                labels["request_id"] = req_id
        elif rest.strip():
            labels["access_extra"] = rest.strip()
    return hints


def _access_hints(line: str) -> dict[str, Any] | None:
    return parse_access(line) if looks_like_access(line) else None


PARSER = LineParser("access", "", _access_hints)
