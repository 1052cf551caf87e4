"""``to_json_bytes``: compact UTF-8 JSON, byte for byte what ``json.dumps`` gives.

The reference is ``json.dumps(doc, ensure_ascii=False, separators=(",", ":"))`` encoded
with ``errors="replace"``. orjson produces the same bytes about five times faster for the
documents the normalizer builds (plain dicts, lists, str, int, bool, finite floats), and
differs from the reference only where it says so itself or where its output shows it:

- it raises (``TypeError``) on lone surrogates, integers beyond 64 bits, non-string keys,
  nesting deeper than 254 and, with the passthrough options, on subclasses, dataclasses
  and datetimes: the reference then runs, so its output or its exception stays the same;
- it writes NaN and infinities as ``null`` (the reference: ``NaN``, ``Infinity``): any
  ``null`` in its output sends the document to the reference;
- it writes floats of magnitude 1e-5 to 1e-9 as ``0.00001`` or ``1.5e-7`` (the
  reference: ``1e-05``, ``1.5e-07``): output holding ``0.0000``, or ``e-<one digit>``
  ending a number, goes to the reference too (text that merely looks like that, such as
  ``"0.00001 s"``, only costs the slow path);
- it writes ``uuid.UUID`` values and ``enum.Enum`` members that the reference rejects
  with ``TypeError``; the normalizer never produces them (unknown types become strings).

``tests/unit/normalize/test_jsonbytes.py`` pins these claims against the reference.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

_DUMPS: Final = orjson.dumps  # a module's attribute is looked up on every use
_OPTIONS: Final = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
# orjson's one-digit negative exponent where repr() has two ("1e-7" vs "1e-07"), at the
# end of a number token; a literal start ("e-") lets the regex engine skip ahead fast.
_SHORT_EXPONENT = re.compile(rb"e-[0-9](?:[,\]}]|\Z)")


def reference_json_bytes(doc: Any) -> bytes:
    """The reference encoding (slow path; also the definition of the output)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "replace")


def to_json_bytes(doc: dict[str, Any], may_hold_floats: bool = True) -> bytes:
    """Compact UTF-8 JSON of a normalized document (for logs.normalized and bulk bodies).

    Always equal to :func:`reference_json_bytes` (same bytes, same exceptions for data
    JSON cannot hold). ``may_hold_floats=False`` promises that ``doc`` holds no float and
    no None anywhere (the normalizer knows it of its documents), which is when neither
    ``null`` nor a float's text can differ: the output is then not searched for them.
    """
    try:
        data = _DUMPS(doc, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return reference_json_bytes(doc)
    if may_hold_floats and (
        b"null" in data
        or b"0.0000" in data
        or (b"e-" in data and _SHORT_EXPONENT.search(data) is not None)
    ):
        return reference_json_bytes(doc)
    return data
