"""The published JSON Schema of rule files, generated from ``bitacora.rules.model.Rule``.

The rule's own options and every registered destination's options (the registry in
``rules.notify.destinations``) make up the schema.

``python -m bitacora.rules.schema`` rewrites ``rules/schema.json``; a unit test fails when the file
is not up to date with the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bitacora.rules.elastalert2 import elastalert2_options
from bitacora.rules.model import Rule

SCHEMA_PATH = Path(__file__).parent / "schema.json"


def rule_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one rule file."""
    schema = Rule.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://bitacora.flores-victoria.example/rules/schema.json"
    schema["title"] = "Bitácora alert rule (ElastAlert2-compatible)"
    # ElastAlert2's other options are accepted (the loader warns that they are ignored).
    others = sorted(elastalert2_options() - set(Rule.model_fields))
    schema["patternProperties"] = {
        "^(" + "|".join(others) + ")$": {"description": "ElastAlert2 option, ignored"}
    }
    return schema


def schema_text() -> str:
    """The schema file's exact text (sorted keys, two-space indent, final newline)."""
    return json.dumps(rule_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write ``rules/schema.json``."""
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
