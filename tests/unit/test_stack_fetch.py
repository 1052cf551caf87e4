"""Maven progress lines and unpacking with permissions."""

from __future__ import annotations

import zipfile
from pathlib import Path

from bitacora.stack.fetch import progress_line, unzip_with_modes


def test_progress_line_for_a_downloaded_jar() -> None:
    line = (
        "[INFO] Downloaded from central: https://repo.example/org/apache/kafka/kafka-clients/"
        "4.4.0/kafka-clients-4.4.0.jar (11 MB at 25 MB/s)\n"
    )
    assert progress_line(line) == "  downloaded kafka-clients-4.4.0.jar (11 MB)"


def test_progress_line_ignores_poms_and_other_lines() -> None:
    pom = "Downloaded from central: https://repo.example/a/b/1/b-1.pom (2 kB at 9 kB/s)"
    assert progress_line(pom) is None
    assert progress_line("[INFO] BUILD SUCCESS") is None


def test_unzip_keeps_exec_bits(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        script = zipfile.ZipInfo("top/bin/run")
        script.external_attr = 0o755 << 16
        zf.writestr(script, "#!/bin/sh\n")
        zf.writestr("top/README", "hi")
    unzip_with_modes(archive, tmp_path / "out")
    assert (tmp_path / "out/top/bin/run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out/top/README").read_text() == "hi"
