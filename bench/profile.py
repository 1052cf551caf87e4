"""Sample a component with py-spy while it works, and summarise where its time goes.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``); the
summary lists the leaf functions by self time and our own functions by inclusive time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


class Profiler:
    """``py-spy record`` attached to ``pid`` until ``stop``."""

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(  # our own tool, fixed arguments
            [PY_SPY, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
             "--nonblocking", "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop sampling (SIGINT makes py-spy write its output)."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _frame_name(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{name} ({short})"


def _package(frame: str) -> str:
    """The top-level package of a frame: ``faust``, ``aiokafka``, ``asyncio``, ``processors``…"""
    path = frame.partition(" (")[2].rsplit(":", 1)[0]
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    if not parts:
        return "?"
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def summarize(
    raw: Path,
    top: int = 15,
    ours: tuple[str, ...] = ("collector/", "processors/", "bitacora/", "rules/"),
) -> str:
    """Top frames by self and inclusive share of the samples, as text."""
    self_time: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        self_time[_frame_name(frames[-1])] += count
        by_package[_package(frames[-1])] += count
        for name in {_frame_name(f) for f in frames if any(o in f for o in ours)}:
            inclusive[name] += count
    if not total:
        return f"{raw}: no samples"
    lines = [f"{raw.name}: {total} samples", "  self time:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in self_time.most_common(top)]
    lines.append("  self time by package:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in by_package.most_common(top)]
    lines.append("  inclusive (our code):")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


class MaybeProfile:
    """Profile ``pid`` while the ``with`` block runs, when ``python -m bench.run --profile``
    set ``BENCH_PROFILE``; writes ``results/profile-<name>.raw`` and ``.txt``."""

    def __init__(self, pid: int, name: str) -> None:
        import os

        self.enabled = bool(os.environ.get("BENCH_PROFILE"))
        self.pid = pid
        self.raw = Path(__file__).resolve().parent / "results" / f"profile-{name}.raw"
        self.profiler: Profiler | None = None

    def __enter__(self) -> MaybeProfile:
        if self.enabled:
            self.profiler = Profiler(self.pid, self.raw)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.profiler is not None:
            self.profiler.stop()
            if self.raw.exists():
                text = summarize(self.raw)
                self.raw.with_suffix(".txt").write_text(text + "\n")
                print(text, file=sys.stderr)
