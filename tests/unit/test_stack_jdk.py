"""Picking a Java for each service."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitacora.stack.jdk import Jdk, choose_jdk, installed_jdks, parse_java_major


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="25.0.3"\n', 25),
        ('JAVA_VERSION="17.0.15"', 17),
        ('openjdk version "21.0.2" 2024-01-16\nOpenJDK Runtime', 21),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "24" 2025-03-18', 24),
        ("no version here", None),
    ],
)
def test_parse_java_major(text: str, major: int | None) -> None:
    assert parse_java_major(text) == major


def test_choose_jdk_takes_the_newest_fitting_one() -> None:
    jdks = [Jdk(Path("/j/17"), 17), Jdk(Path("/j/25"), 25), Jdk(Path("/j/21"), 21)]
    assert choose_jdk(jdks, 21) == Jdk(Path("/j/25"), 25)
    assert choose_jdk(jdks, 26) is None
    assert choose_jdk([], 11) is None


def test_installed_jdks_reads_release_files(tmp_path: Path) -> None:
    for name, version in (("temurin-25", "25.0.3"), ("jdk-17", "17.0.15")):
        home = tmp_path / name
        (home / "bin").mkdir(parents=True)
        (home / "bin" / "java").write_text("#!/bin/sh\n")
        (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    (tmp_path / "not-a-jdk").mkdir()
    (tmp_path / "alias-25").symlink_to(tmp_path / "temurin-25")
    found = {j.home.name: j.major for j in installed_jdks(tmp_path) if j.home.parent == tmp_path}
    assert found == {"temurin-25": 25, "jdk-17": 17}
