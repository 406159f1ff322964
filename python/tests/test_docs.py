"""docs/guide/python.md shows what the package does: its example test is the one CI runs,
and its notebook example prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import quotasim
from conftest import ROOT

PAGE = (ROOT / "docs" / "guide" / "python.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGE, flags=re.S)


def test_the_example_test_on_the_page_is_the_one_ci_runs():
    example = (Path(__file__).parent / "test_example_retry.py").read_text()
    assert example in blocks("python")


def test_the_notebook_sweep_prints_what_the_page_shows():
    code = next(b for b in blocks("python") if "quotasim.sweep(" in b)
    shown = next(b for b in blocks("text") if b.startswith("max_tokens "))
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(code, {})
    finally:
        os.chdir(cwd)
    assert out.getvalue() == shown


def test_the_api_examples_show_their_values():
    report = quotasim.run(ROOT / "scenarios" / "chat-sonnet4-200k.toml", set={"max_tokens": 2048})
    got = (report["requests"]["succeeded"], report["attempts"]["throttled"])
    assert f"report[\"attempts\"][\"throttled\"]   # {got}" in PAGE
    assert f"# {report['latency_ms']['e2e']['p99']}" in PAGE
    e = quotasim.estimate("claude-sonnet-4", 1000, 500, max_tokens=4096)
    assert f'["reserved_tokens"]  # {e["reserved_tokens"]}' in PAGE
