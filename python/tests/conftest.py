"""Helpers of the Python tests (run by .ci/run after `pip install .`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def commands() -> list[list[str]]:
    """The command lines to compare the API with: the wheel's `quotasim` command (always),
    and the binary cargo built in this checkout (`target/release` or `target/debug`), which
    must exist under CI (.ci/run runs `cargo test` first)."""
    found = []
    packaged = shutil.which("quotasim", path=os.path.dirname(sys.executable))
    assert packaged, f"the wheel's quotasim command is not next to {sys.executable}"
    found.append([packaged])
    built = [ROOT / "target" / p / "quotasim" for p in ("release", "debug")]
    binary = next((b for b in built if b.is_file()), None)
    if binary is not None:
        found.append([str(binary)])
    else:
        assert not os.environ.get("CI"), "CI is set but cargo built no target/*/quotasim"
        print("NOT RUN against the cargo binary: no target/*/quotasim")
    return found


@pytest.fixture(scope="session")
def cli() -> list[list[str]]:
    return commands()


def run_cli(command: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
