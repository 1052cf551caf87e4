"""Syslog messages (``transport == "syslog"``): RFC 5424 and RFC 3164 lines.

The collector (``collector.syslog``) only frames: each raw record is ``{"syslog": line}``
with the receive time. Here the header is read:

- ``<PRI>`` gives ``log.syslog.facility`` and ``log.syslog.severity`` (RFC 5424 keyword
  names: ``local0``, ``err`` ...) and ``log.level`` (emerg/alert/crit → fatal, err →
  error, warning → warn, notice/info → info, debug → debug) unless the message states its
  own level (PostgreSQL and MongoDB lines, JSON with a level field, a level word): their
  servers map levels onto syslog severities loosely (PostgreSQL sends ERROR as warning).
  A line without a valid PRI is not syslog: ``DecodeError("bad_syslog: ...")``, so it is
  dead-lettered and counted.
- RFC 5424 (``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG``): HOSTNAME is
  ``host.name``, APP-NAME ``service.name``, TIMESTAMP ``@timestamp``; PROCID and MSGID go
  to ``labels.syslog.procid``/``msgid``; each structured-data element becomes
  ``labels.<SD-ID>.<PARAM-NAME>``. A malformed header or SD is ``bad_syslog``.
- RFC 3164 (``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG``, also with an RFC 3339
  timestamp as rsyslog forwards it): the timestamp has no year or zone, so it is read as
  UTC in the year that puts it at most a day after the receive time; TAG is
  ``service.name`` and PID ``labels.syslog.procid``. Everything after the PRI is optional.
- MSG is then read like any log line (JSON, MongoDB, PostgreSQL, logfmt, access logs...);
  PostgreSQL's syslog sequence prefix (``[3-1]`` before its line) is removed first.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any, Final

from bitacora.errors import DecodeError
from bitacora.processors.normalize.parsers.postgres import looks_like_postgres
from bitacora.processors.normalize.timefmt import parse_time

FACILITIES: Final = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES: Final = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_LEVELS: Final = ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")

_PRI = re.compile(r"<(\d{1,3})>")
_MONTHS: Final = {name: index for index, name in enumerate(calendar.month_abbr) if name}
_BSD_TIME = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) ")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\S+ ")
_TAG = re.compile(r"([^\s:\[\]]{1,64})(?:\[([^\]\s]{0,32})\])?: ?")
_POSTGRES_SEQUENCE = re.compile(r"\[\d+-\d+\] ")
_DAY_NS: Final = 86_400 * 10**9


def _bad(why: str) -> DecodeError:
    return DecodeError(f"bad_syslog: {why}")


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """The SD elements and the MSG after them (RFC 5424 section 6.3)."""
    if text == "-" or text.startswith("- "):
        return {}, text[2:]
    elements: dict[str, dict[str, str]] = {}
    i = 0
    try:
        while i < len(text) and text[i] == "[":
            end = i + 1
            while text[end] not in " ]":
                end += 1
            sd_id = text[i + 1 : end]
            if not sd_id or "=" in sd_id or '"' in sd_id:
                raise _bad(f"bad SD-ID {sd_id!r}")
            params: dict[str, str] = {}
            i = end
            while text[i] == " ":
                equals = text.index("=", i)
                name = text[i + 1 : equals]
                if not name or " " in name or text[equals + 1] != '"':
                    raise _bad(f"bad SD-PARAM in [{sd_id}]")
                i = equals + 2
                value: list[str] = []
                while text[i] != '"':
                    if text[i] == "\\" and text[i + 1] in '"\\]':
                        i += 1
                    value.append(text[i])
                    i += 1
                params[name] = "".join(value)
                i += 1
            if text[i] != "]":
                raise _bad(f"unterminated SD element [{sd_id}]")
            elements[sd_id] = params
            i += 1
    except (IndexError, ValueError):  # ran off the end (ValueError: no "=" left)
        raise _bad("structured data ends early") from None
    if not elements:
        raise _bad("structured data must be '-' or start with '['")
    rest = text[i:]
    if rest and not rest.startswith(" "):
        raise _bad("no space between structured data and MSG")
    return elements, rest[1:]


def _rfc5424(
    rest: str, pinned: dict[str, Any], fields: dict[Any, Any], syslog: dict[str, str]
) -> str:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        raise _bad("RFC 5424 header has fewer than 6 fields")
    stamp, host, app, procid, msgid, remainder = parts
    if stamp != "-":
        when = parse_time(stamp)
        if when is None:
            raise _bad(f"bad TIMESTAMP {stamp[:40]!r}")
        pinned["@time"] = when
    for value, target in ((_nil(host), "host.name"), (_nil(app), "service.name")):
        if value is not None:
            pinned[target] = value
    for value, name in ((_nil(procid), "procid"), (_nil(msgid), "msgid")):
        if value is not None:
            syslog[name] = value
    elements, message = _structured_data(remainder)
    for sd_id, params in elements.items():
        fields[sd_id] = params
    return message.removeprefix("\ufeff")


def _bsd_time(match: re.Match[str], received_ns: int) -> int | None:
    month = _MONTHS.get(match[1])
    if month is None:
        return None
    year = datetime.fromtimestamp(received_ns / 1e9, UTC).year
    day, hour, minute, second = (int(match[n]) for n in range(2, 6))
    for candidate in (year + 1, year, year - 1):
        try:
            stamp = datetime(candidate, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:  # Feb 29 outside a leap year, day 31 of a short month
            continue
        ns = calendar.timegm(stamp.timetuple()) * 10**9
        if ns <= received_ns + _DAY_NS:
            return ns
    return None


def _rfc3164(rest: str, received_ns: int, pinned: dict[str, Any], syslog: dict[str, str]) -> str:
    stamp = _BSD_TIME.match(rest)
    when: int | None = None
    if stamp is not None:
        when = _bsd_time(stamp, received_ns)
    else:
        stamp = _ISO_TIME.match(rest)
        if stamp is not None:
            when = parse_time(stamp[0][:-1])
    if stamp is not None:
        if when is None:
            raise _bad(f"bad TIMESTAMP {stamp[0][:40]!r}")
        pinned["@time"] = when
        rest = rest[stamp.end() :]
        host, space, after = rest.partition(" ")
        if space and host and _TAG.fullmatch(host + " ") is None:
            pinned["host.name"] = host
            rest = after
    tag = _TAG.match(rest)
    if tag is not None:
        pinned["service.name"] = tag[1]
        if tag[2]:
            syslog["procid"] = tag[2]
        rest = rest[tag.end() :]
    return rest


def from_syslog(record: dict[Any, Any], received_ns: int) -> tuple[dict[Any, Any], dict[str, Any]]:
    """``(fields, pinned)`` for one syslog line (see the module docstring)."""
    line = record.get("syslog")
    if type(line) is bytes:
        line = line.decode("utf-8", "surrogateescape")
    if type(line) is not str:
        raise _bad("the record holds no syslog line")
    line = line.rstrip("\r\n\x00")
    pri = _PRI.match(line)
    if pri is None:
        raise _bad("no <PRI> at the start of the line")
    value = int(pri[1])
    if value > 191 or (len(pri[1]) > 1 and pri[1][0] == "0"):
        raise _bad(f"PRI <{pri[1]}> is not 0-191")
    facility, severity = divmod(value, 8)
    pinned: dict[str, Any] = {
        "log.syslog.facility": FACILITIES[facility],
        "log.syslog.severity": SEVERITIES[severity],
        "@level": _LEVELS[severity],
    }
    fields: dict[Any, Any] = {}
    syslog: dict[str, str] = {}
    rest = line[pri.end() :]
    if rest.startswith("1 "):
        message = _rfc5424(rest[2:], pinned, fields, syslog)
    else:
        message = _rfc3164(rest, received_ns, pinned, syslog)
    sequence = _POSTGRES_SEQUENCE.match(message) if message[:1] == "[" else None
    if sequence is not None and looks_like_postgres(message[sequence.end() :]):
        message = message[sequence.end() :]
    if syslog:
        fields["syslog"] = syslog
    if message.strip():
        fields["message"] = message
    return fields, pinned
