"""Secret redaction: every stored string passes here before it is stored or dead-lettered.

The normalizer runs it over every event; the dead-letter records (bitacora/deadletter.py)
run it over the original they keep, in the collector as in the processors.

Kinds and what they catch (each replaced by ``[REDACTED:<kind>]``):

- ``password``, ``secret``, ``token``, ``api_key``, ``aws_secret_key``, ``key``,
  ``credential``: the value of a ``key=value`` / ``key: value`` / ``"key": "value"`` pair
  whose key names a secret (``password``, ``passwd``, ``pwd``, ``secret``, ``token``,
  ``api_key``, ``access_key``, ``private_key``, ``credential``...); quotes are kept;
- ``authorization``: the value of an ``Authorization:`` / ``Proxy-Authorization:`` header;
- ``bearer``: the token after ``Bearer``;
- ``aws_access_key``: AWS access key ids (``AKIA``/``ASIA`` + 16);
- ``jwt``: three base64url segments starting with ``eyJ``;
- ``card``: 13-19 digits (single spaces or dashes allowed between them) that pass the Luhn
  check and start with 2-6 (the card networks; this spares epoch timestamps, which start
  with 1);
- ``custom``: matches of the configured ``redact_patterns`` (:func:`compile_patterns`).

Speed: most strings hold no secret, so each family is guarded by a substring test that
costs far less than its regex; :func:`may_need_redaction` lets callers test the joined text
of a whole event once and skip per-string work entirely, and
:func:`any_may_need_redaction` does that while remembering the short strings already found
clean (host, pod and logger names repeat from event to event).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Protocol
from urllib.parse import unquote

from bitacora.errors import ConfigError


class Patterns(Protocol):
    """What redaction needs from a configuration: the compiled ``redact_patterns``."""

    @property
    def compiled_patterns(self) -> tuple[re.Pattern[str], ...]: ...


@dataclass(frozen=True, slots=True)
class CustomPatterns:
    """Compiled ``redact_patterns`` on their own (the normalizer carries them in its config)."""

    compiled_patterns: tuple[re.Pattern[str], ...] = ()


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """``redact_patterns`` compiled; ConfigError for an invalid one or one matching ''."""
    compiled = []
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"redact_patterns: {pattern!r} is not a valid regular expression: {exc}"
            ) from exc
        if regex.search("") is not None:
            raise ConfigError(f"redact_patterns: {pattern!r} matches the empty string")
        compiled.append(regex)
    return tuple(compiled)


# str.isascii as a function: the compiled build has no native isascii, and calling the
# method by name looks it up on the type every time.
is_ascii: Final[Callable[[str], bool]] = str.isascii

# Lowercase substrings without which the key/value, header and bearer rules cannot match.
_WORDS: Final = ("pass", "pwd", "secret", "token", "key", "auth", "bearer", "cred")

_SECRET_KEY = (
    r"[\w.-]*?(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?)[\w.-]*"
)
_PAIRS = re.compile(
    # key = value pairs: plain, JSON (also JSON escaped inside JSON) and Python-repr styles.
    r"(?P<key>(?<![\w.-])" + _SECRET_KEY + r")(?P<sep>(?:\\?[\"'])?[ \t]*[:=][ \t]*)"
    r"(?P<val>\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"[^\"\\]*(?:\\.[^\"\\]*)*\"|'[^']*'"
    r"|[^\s,;&'\"}\])\\]+)"
    # Authorization headers, with or without a scheme.
    r"|(?P<akey>(?<![\w-])(?:proxy-)?authorization(?:\\?[\"'])?[ \t]*[:=][ \t]*)"
    r"(?P<aval>\\\"[^\"\\]*\\\"|\"[^\"]*\"|'[^']*'"
    r"|(?:(?:bearer|basic|digest|token|negotiate|ntlm)[ \t]+)?[^\s,;'\"\\]+)"
    # Bearer tokens anywhere (also form-encoded, "Bearer+token").
    r"|(?P<bkey>(?<![\w-])bearer(?:[ \t]+|\+))(?P<bval>[A-Za-z0-9._~+/=-]{6,})",
    re.IGNORECASE,
)
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_AWS_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
# Cheap gate first (8 digits starting with 2-6), the exact candidate shape second.
_CARD_GATE = re.compile(r"[2-6][0-9]{3}[ -]?[0-9]{4}")
_CARD = re.compile(r"(?<![0-9A-Za-z])[2-6](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")
# For whole-event gating: bytes.translate runs in C at ~1 ns/byte, far below a regex
# scan. ASCII digits become "d", ASCII letters "a", space and dash "s", anything else "."
# (only ASCII: _CARD's neighbour class is [0-9A-Za-z], and UTF-8 bytes of a character
# such as "€" must not look like a letter glued to the number, or the card would slip).
_SHAPE: Final = bytes(
    ord("d")
    if 48 <= b <= 57
    else ord("a")
    if 65 <= b <= 90 or 97 <= b <= 122
    else ord("s")
    if b in (32, 45)
    else ord(".")
    for b in range(256)
)
_THIRTEEN_DIGITS: Final = b"d" * 13
# A card-shaped run in the shape: not glued to letters or digits.
_CARD_SHAPE = re.compile(rb"(?<![ad])d(?:s?d){12,18}(?![ad])")


def _may_hold_card(text: str) -> bool:
    # Necessary: 13 digits once separators are dropped; then the exact run shape, which
    # skips hex ids and other tokens whose digit runs touch letters.
    data = text.encode("utf-8", "replace")
    # find, not ``in`` (which builds and clears a TypeError for a bytes operand).
    if data.translate(_SHAPE, b" -").find(_THIRTEEN_DIGITS) < 0:
        return False
    return _CARD_SHAPE.search(data.translate(_SHAPE)) is not None


_KEY_KIND = re.compile(
    r"(passw(?:or)?d|passphrase|pwd)|(aws_secret)|(secret)|(token)|(api[_-]?key|apikey)"
    r"|(access[_-]?key|private[_-]?key)|(credential)|(authorization)|(cookie)",
)
_KINDS: Final = (
    "password",
    "aws_secret_key",
    "secret",
    "token",
    "api_key",
    "key",
    "credential",
    "authorization",
    "cookie",
)


@lru_cache(maxsize=8192)
def secret_kind_for_key(key: str) -> str | None:
    """The redaction kind when a field *named* ``key`` holds a secret, else None.

    Cached: field names repeat across events, so this is a dict hit on the hot path.
    """
    match = _KEY_KIND.search(key.lower())
    return _KINDS[match.lastindex - 1] if match and match.lastindex else None


def _pair_kind(key: str) -> str:
    return secret_kind_for_key(key) or "secret"


def _quote_of(value: str) -> str:
    if value.startswith('\\"'):
        return '\\"'
    return value[0] if value[0] in "\"'" else ""


def _replace_pair(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "val":
        quote = _quote_of(match["val"])
        marker = f"[REDACTED:{_pair_kind(match['key'])}]"
        return f"{match['key']}{match['sep']}{quote}{marker}{quote}"
    if group == "aval":
        quote = _quote_of(match["aval"])
        return f"{match['akey']}{quote}[REDACTED:authorization]{quote}"
    return f"{match['bkey']}[REDACTED:bearer]"


def _luhn_ok(digits: str) -> bool:
    total = 0
    parity = len(digits) % 2
    for index, char in enumerate(digits):
        digit = ord(char) - 48
        if index % 2 == parity:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _replace_card(match: re.Match[str]) -> str:
    digits = match[0].replace(" ", "").replace("-", "")
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return "[REDACTED:card]"
    return match[0]


_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"


def hex_beyond_rules(text: str) -> bool:
    """True for a text the built-in rules cannot match: 20 or more hex digits and nothing
    else, such as a trace id (custom patterns still may).

    Every rule needs a character a hex digit is not: the words and the JWT and AWS
    prefixes hold letters beyond ``a``-``f``, and a card's 13 to 19 digits must not touch
    a letter or another digit, so in a text of hex digits alone they would be all of it.
    """
    return len(text) >= 20 and is_ascii(text) and not text.encode().translate(None, _HEX_DIGITS)


def may_need_redaction(text: str, config: Patterns) -> bool:
    """False when no rule can match anywhere in ``text`` (fast pre-check)."""
    if "%" in text:
        text = f"{text}\x00{unquote(text, errors='replace')}"
    lowered = text.lower()
    # _WORDS spelled out: one expression instead of a loop (this runs for every event).
    if (
        "pass" in lowered
        or "pwd" in lowered
        or "secret" in lowered
        or "token" in lowered
        or "key" in lowered
        or "auth" in lowered
        or "bearer" in lowered
        or "cred" in lowered
        or "eyJ" in text
        or "AKIA" in text
        or "ASIA" in text
    ):
        return True
    if _may_hold_card(text):
        for match in _CARD.finditer(text):
            if _replace_card(match) != match[0]:
                return True
    if config.compiled_patterns:
        return any(pattern.search(text) for pattern in config.compiled_patterns)
    return False


# Short strings known to pass the pre-check under the built-in rules: field values such as
# host, pod, logger or user-agent names repeat from event to event. Bounded (cleared when
# full) in entries and, through _CLEAN_MAX_CHARS, in memory.
CLEAN: Final[dict[str, None]] = {}
_CLEAN_MAX: Final = 8192
_CLEAN_MAX_CHARS: Final = 256


def any_may_need_redaction(texts: list[str], config: Patterns) -> bool:
    """:func:`may_need_redaction` of the texts joined with NUL, skipping texts already seen
    to pass it (see :data:`CLEAN`).

    Exact because, with the built-in rules only, the pre-check of NUL-joined texts is the
    OR of the pre-checks of the texts: no rule matches a NUL or across one, percent
    decoding and lower-casing work piece by piece, and the card gate is sound (it passes
    whatever ``_CARD`` would redact). Custom patterns may match across a NUL or depend on
    anchors, so with ``redact_patterns`` set every text is checked every time.
    Raises TypeError when an item is not a string (like ``str.join``).
    """
    if config.compiled_patterns:
        return may_need_redaction("\x00".join(texts), config)
    clean = CLEAN
    return fresh_may_need_redaction([text for text in texts if text not in clean], config)


def fresh_may_need_redaction(fresh: list[str], config: Patterns) -> bool:
    """:func:`any_may_need_redaction` for texts the caller found missing from
    :data:`CLEAN` (built-in rules only); those that pass are remembered."""
    if not fresh:
        return False
    if may_need_redaction(fresh[0] if len(fresh) == 1 else "\x00".join(fresh), config):
        return True
    clean = CLEAN
    if len(clean) + len(fresh) > _CLEAN_MAX:
        clean.clear()
    for text in fresh:  # a plain loop: the compiled build makes it native
        if len(text) <= _CLEAN_MAX_CHARS:
            clean[text] = None
    return False


def redact(text: str, config: Patterns) -> str:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``.

    Percent-encoded text (URLs, query strings) is also checked decoded; when the decoded
    form holds a secret the *decoded, redacted* text is returned, so an encoded secret
    cannot slip through.
    """
    result = _redact_plain(text, config)
    if "%" in result:
        decoded = unquote(result, errors="replace")
        if decoded != result:
            redacted = _redact_plain(decoded, config)
            if redacted != decoded:
                return redacted
    return result


def _redact_plain(text: str, config: Patterns) -> str:
    if len(text) >= 5:  # shorter strings cannot hold any built-in secret shape
        lowered = text.lower()
        for word in _WORDS:
            if word in lowered:
                text = _PAIRS.sub(_replace_pair, text)
                break
        if "eyJ" in text:
            text = _JWT.sub("[REDACTED:jwt]", text)
        if "AKIA" in text or "ASIA" in text:
            text = _AWS_ID.sub("[REDACTED:aws_access_key]", text)
        if len(text) >= 13 and _CARD_GATE.search(text):
            text = _CARD.sub(_replace_card, text)
    for pattern in config.compiled_patterns:
        text = pattern.sub("[REDACTED:custom]", text)
    return text
