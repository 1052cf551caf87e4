"""What a line parser is: a name, the first characters its lines can start with, a parse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class LineParser(NamedTuple):
    """One format of the text in ``log``/``message``.

    ``parse`` returns the line's hints, or ``None`` when the line is not in this format (the
    next parser then tries). ``starts`` lists the characters a line of this format can begin
    with, so a line only meets the parsers it can match; empty means any.
    """

    name: str
    starts: str
    parse: Callable[[str], dict[str, Any] | None]
