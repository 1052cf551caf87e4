"""The stream processes' garbage-collector settings."""

from __future__ import annotations

import subprocess
import sys


def test_tune_for_streaming_freezes_start_up_and_raises_the_thresholds() -> None:
    code = (
        "import gc; from bitacora.gctune import tune_for_streaming; "
        "before = gc.get_freeze_count(); tune_for_streaming(); "
        "print(gc.get_threshold(), before, gc.get_freeze_count() > 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == "(50000, 20, 20) 0 True"
