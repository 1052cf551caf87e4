"""Normalization: a raw record from ``logs.raw`` becomes one OpenSearch document.

Pure functions over plain data; the normalize stage only calls them. Public API::

    normalize(raw, partition, offset, config, index) -> dict  # the event-table document
    normalize_json(raw, partition, offset, config, index)     # (document, its to_json_bytes)
    to_json_bytes(doc) -> bytes                          # compact UTF-8 JSON
    NormalizeConfig(...) / NormalizeConfig.from_settings(settings)
    CriJoiner, PostgresJoiner                            # state for multi-record lines

Documented choices:

- ``@timestamp``: the client's forward time (nanoseconds kept) wins; when it is 0 or
  outside the date_nanos range, the record's own time (``@timestamp``, ``timestamp``,
  ``time``, ``ts``, ``datetime``, ``date``, the CRI/access/PostgreSQL/MongoDB time) is used
  and consumed; else the collector's receive time. A record's own time field that is not
  used stays in ``labels``. ``event.ingested`` has milliseconds.
- ``event.id``: blake2b-128 hex of ``c:<chunk>:<position>``, or ``k:<partition>:<offset>``
  without a chunk id.
- ``service.name``: record field (``service.name``, ``service``, ``service_name``,
  ``serviceName``), then Kubernetes labels (``app.kubernetes.io/name``, ``app``,
  ``k8s-app``), then the tag's first dot-part.
- Levels (see ``levels``): numbers read by field: ``levelno`` Python, ``severity_number``
  OTel, ``PRIORITY`` syslog, other level fields 0-7 syslog / 10-60 pino. An unknown level
  stays in ``labels`` under its own key and the event is ``info``. Without a level: a
  level word (upper case, or nginx ``[error]``) in the first 80 characters of a plain
  line; else ``error`` when an exception was found (``fatal`` for a Go panic); else from
  an access log's status (5xx error, 4xx warn); else ``info``.
- ``message``: ``message`` > ``msg`` > ``log`` > ``MESSAGE``; JSON or logfmt found in the
  body is merged into the record's fields (its keys win). When the message carries a
  trace, ``error.stack_trace`` holds the trace and ``message`` keeps the text before it
  (or ``Type: message`` when the text is only the trace).
- Access logs: ``message`` is the whole line; user agent, referrer, bytes, query string,
  upstream details go to ``labels``.
- Safety: see ``fields`` (UTF-8 repair, NUL → U+FFFD, caps with ``…[truncated N bytes]``,
  label keys with ``.`` → ``_``, ``_empty``, ``_truncated_keys``) and ``bitacora.redact``
  (``[REDACTED:<kind>]``). Strings in keyword fields and in ``labels`` are capped at
  ``min(max_field_bytes, 16 KiB)`` (Lucene's term limit); ``message``, ``error.message``
  and ``error.stack_trace`` at ``max_field_bytes``.
- OTLP and syslog records (``transport`` ``otlp``/``syslog``) are first mapped by their
  source (``sources``): values the protocol states (resource, severity, trace ids; PRI,
  HOSTNAME, APP-NAME, TIMESTAMP) win over the generic aliases; ``event.dataset`` is
  ``otlp`` or ``syslog``; a syslog line that is not syslog is a ``DecodeError``
  (``bad_syslog: ...``).
- Errors: only ``DecodeError`` (not a map, unusable tag, no usable time, or a bug caught
  around the whole call) so the agent can dead-letter the record.
"""

from bitacora.processors.normalize.config import DEFAULT_CONFIG, NormalizeConfig
from bitacora.processors.normalize.core import normalize, normalize_json, to_json_bytes
from bitacora.processors.normalize.parsers.cri import CriJoiner
from bitacora.processors.normalize.parsers.postgres import PostgresJoiner

__all__ = [
    "DEFAULT_CONFIG",
    "CriJoiner",
    "NormalizeConfig",
    "PostgresJoiner",
    "normalize",
    "normalize_json",
    "to_json_bytes",
]
