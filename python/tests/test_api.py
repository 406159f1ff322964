"""quotasim.run / sweep / plan / estimate / models return exactly what the command prints,
and invalid input raises ScenarioError with the command's message, file, line and column."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import quotasim
from conftest import ROOT, SCENARIOS, run_cli


def plain_dumps(doc: object) -> str:
    """json.dumps with the command's settings: two-space indentation, `": "` after keys,
    UTF-8 as is, and a final newline. It writes floats below 0.0001 with an exponent where
    the command writes decimals, so documents holding such floats need quotasim.dumps."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


dumps = quotasim.dumps


RUN_SCENARIOS = [
    "chat-sonnet4-200k.toml",
    "two-apps-one-account.toml",
    "replay-chat-trace.toml",
    "reserved-spillover.toml",
    "pace-vs-retry-adaptive.toml",
]


@pytest.mark.parametrize("name", RUN_SCENARIOS)
def test_run_is_the_commands_json_byte_for_byte(cli, name):
    path = SCENARIOS / name
    report = quotasim.run(path)
    assert isinstance(report, dict)
    for command in cli:
        out = run_cli(command, "run", str(path), "--format", "json")
        assert out.returncode == 0, out.stderr
        assert dumps(report) == out.stdout, command
        assert plain_dumps(report) == out.stdout, command
        assert report == json.loads(out.stdout)


def test_run_with_overrides_and_seed_is_the_commands_json(cli):
    path = str(SCENARIOS / "chat-sonnet4-200k.toml")
    report = quotasim.run(
        path, set={"max_tokens": 1024, "client.concurrency": 8, "duration": "10m"}, seed=7
    )
    assert report["seed"] == 7
    for command in cli:
        out = run_cli(
            command, "run", path, "--format", "json", "--seed", "7",
            "--set", "max_tokens=1024", "--set", "client.concurrency=8",
            "--set", "duration=10m",
        )
        assert out.returncode == 0, out.stderr
        assert dumps(report) == out.stdout


def test_text_and_dict_scenarios_run_as_the_file_does():
    path = SCENARIOS / "chat-sonnet4-200k.toml"
    text = path.read_text()
    from_file = quotasim.run(path)
    from_text = quotasim.run(text)
    with path.open("rb") as f:
        from_dict = quotasim.run(tomllib.load(f))
    # The scenario sets its own name, so even that key agrees.
    assert from_text == from_file
    assert from_dict == from_file
    assert from_file["scenario"] == "chat-sonnet4-200k"


def test_sweep_is_the_commands_json(cli):
    path = str(SCENARIOS / "chat-sonnet4-200k.toml")
    doc = quotasim.sweep(
        path, vary={"max_tokens": [1024, 4096]}, set={"duration": "10m"}, replications=2
    )
    assert [p["values"] for p in doc["vary"]] == [[1024, 4096]]
    for command in cli:
        out = run_cli(
            command, "sweep", path, "--vary", "max_tokens=1024,4096", "--set", "duration=10m",
            "--replications", "2", "--format", "json", "--quiet",
        )
        assert out.returncode == 0, out.stderr
        assert dumps(doc) == out.stdout


def test_sweep_of_text_names_the_scenario_as_run_does():
    text = (SCENARIOS / "chat-sonnet4-200k.toml").read_text().replace(
        'name = "chat-sonnet4-200k"\n', ""
    )
    doc = quotasim.sweep(text, vary={"max_tokens": "1024,2048"}, set={"duration": "5m"})
    assert doc["scenario"] == "<string>"
    assert quotasim.run(text, set={"duration": "5m"})["scenario"] == "<string>"


def test_plan_is_the_commands_json(cli):
    path = str(SCENARIOS / "chat-sonnet4-200k.toml")
    doc = quotasim.plan(
        path, "quota.tokens_per_minute", ["throttle_rate <= 0.01"], replications=2,
        set={"duration": "10m"},
    )
    assert doc["outcome"] == "found"
    for command in cli:
        out = run_cli(
            command, "plan", path, "--find", "quota.tokens_per_minute",
            "--constraint", "throttle_rate <= 0.01", "--replications", "2",
            "--set", "duration=10m", "--format", "json",
        )
        assert out.returncode == 0, out.stderr
        assert dumps(doc) == out.stdout


def test_estimate_is_the_commands_json_and_the_arithmetic_by_hand(cli):
    doc = quotasim.estimate(
        "claude-sonnet-4", 1000, 500, max_tokens=4096, tokens_per_minute=200000
    )
    # By hand: output burns down 5 quota tokens each: 1000 + 5 * 500 = 3500 consumed;
    # reserved input + max_tokens = 1000 + 4096 = 5096; 200000 // 3500 = 57 and
    # 200000 // 5096 = 39.
    assert doc["quota_tokens"] == 3500
    assert doc["reserved_tokens"] == 5096
    assert doc["requests_per_minute_by_consumption"] == 57
    assert doc["concurrent_by_reservation"] == 39
    for command in cli:
        out = run_cli(
            command, "estimate", "--model", "claude-sonnet-4", "--input-tokens", "1000",
            "--output-tokens", "500", "--max-tokens", "4096", "--tokens-per-minute",
            "200000", "--format", "json",
        )
        assert out.returncode == 0, out.stderr
        assert dumps(doc) == out.stdout


def test_models_is_the_commands_json(cli):
    doc = quotasim.models()
    assert any(m["name"] == "claude-sonnet-4" for m in doc["models"])
    for command in cli:
        out = run_cli(command, "models", "--format", "json")
        assert out.returncode == 0, out.stderr
        assert dumps(doc) == out.stdout


BAD = """name = "bad"
duration = "5m"
[quota]
tokens_per_minute = "lots"
"""


def test_an_invalid_scenario_raises_at_its_line_and_column(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(str(path))
    e = info.value
    # Line 4; the value starts after `tokens_per_minute = ` (20 characters): column 21.
    assert (e.file, e.line, e.column) == (str(path), 4, 21)
    assert e.key_path == "quota.tokens_per_minute"
    assert str(e).startswith(f"{path}:4:21: `quota.tokens_per_minute`: ")
    assert isinstance(e, ValueError)
    for command in cli:
        out = run_cli(command, "run", str(path))
        assert out.returncode == 2
        assert out.stderr == f"error: {e}\n"
        assert e.message in out.stderr


def test_an_invalid_text_scenario_names_string_and_the_line():
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(BAD)
    assert (info.value.file, info.value.line, info.value.column) == ("<string>", 4, 21)


def test_an_unknown_key_suggests_the_nearest(cli, tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(
        (SCENARIOS / "chat-sonnet4-200k.toml").read_text().replace("concurrency", "concurency")
    )
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(path)
    e = info.value
    assert e.key_path == "client.concurency"
    assert "concurrency" in (e.help or "")
    # `concurency = 32` is on line 16 of the file, its key at column 1.
    assert (e.line, e.column) == (16, 1)
    for command in cli:
        out = run_cli(command, "run", str(path))
        assert (out.returncode, out.stderr) == (2, f"error: {e}\n")


def test_an_invalid_override_raises_override_error_as_the_command_words_it(cli):
    path = str(SCENARIOS / "chat-sonnet4-200k.toml")
    with pytest.raises(quotasim.OverrideError) as info:
        quotasim.run(path, set={"client.concurrency": 0})
    e = info.value
    assert e.origin == "--set client.concurrency=0"
    assert e.key_path == "client.concurrency"
    for command in cli:
        out = run_cli(command, "run", path, "--set", "client.concurrency=0")
        assert (out.returncode, out.stderr) == (2, f"error: {e}\n")


def test_a_missing_file_is_a_scenario_error(cli, tmp_path):
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(missing)
    assert info.value.file == missing
    assert "no such file" in str(info.value)
    for command in cli:
        out = run_cli(command, "run", missing)
        assert (out.returncode, out.stderr) == (2, f"error: {info.value}\n")


def test_an_unknown_model_lists_the_nearest(cli):
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.estimate("claude-sonet-4", 1000, 500)
    for command in cli:
        out = run_cli(
            command, "estimate", "--model", "claude-sonet-4", "--input-tokens", "1000",
            "--output-tokens", "500",
        )
        assert (out.returncode, out.stderr) == (2, f"error: {info.value}\n")


def test_errors_pickle_with_their_location(tmp_path):
    import pickle

    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(BAD)
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is quotasim.ScenarioError
    assert (str(back), back.line, back.column) == (str(info.value), 4, 21)


def test_the_package_ships_stubs_and_py_typed():
    pkg = Path(quotasim.__file__).parent
    assert (pkg / "py.typed").is_file()
    assert (pkg / "__init__.pyi").is_file()
    assert (pkg / "_quotasim.pyi").is_file()
    assert quotasim.run.__doc__ and "ScenarioError" in quotasim.run.__doc__


def test_the_command_is_the_rust_command_line(cli):
    out = run_cli(cli[0], "--version")
    assert (out.returncode, out.stdout) == (0, f"quotasim {quotasim.__version__}\n")
    out = run_cli(cli[0], "run")
    assert out.returncode == 2 and "Usage: quotasim run" in out.stderr
    cargo = (ROOT / "Cargo.toml").read_text()
    assert f'version = "{quotasim.__version__}"' in cargo


# What serde_json 1.0 (the command's JSON writer) prints for these floats, recorded from a
# Rust program calling serde_json::to_string on each.
SERDE_JSON_FLOATS = [
    (1e16, "1e+16"), (1e-7, "1e-7"), (0.0001, "0.0001"), (0.00001, "0.00001"),
    (123.0, "123.0"), (1e15, "1000000000000000.0"), (1.5e300, "1.5e+300"), (0.1, "0.1"),
    (-0.0, "-0.0"), (0.0, "0.0"), (1.234e-7, "1.234e-7"),
    (12345678901234567.0, "1.2345678901234568e+16"), (2.5e-5, "0.000025"), (1e21, "1e+21"),
    (9.333971092136503e-05, "0.00009333971092136503"),
    (1234567890123456.7, "1234567890123456.8"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
]


@pytest.mark.parametrize("value, text", SERDE_JSON_FLOATS)
def test_dumps_writes_floats_as_serde_json(value, text):
    assert quotasim.dumps([value]) == f"[\n  {text}\n]\n"
    assert quotasim.dumps({"x": -value}) == (
        f'{{\n  "x": {text[1:] if text.startswith("-") else "-" + text}\n}}\n'
    )


def test_dumps_lays_out_nesting_and_strings_as_serde_json():
    doc = {"a": [1, {}, []], "b": {"c": "é\n\u0001\"", "d": None, "e": True}}
    assert quotasim.dumps(doc) == (
        '{\n  "a": [\n    1,\n    {},\n    []\n  ],\n  "b": {\n'
        '    "c": "é\\n\\u0001\\"",\n    "d": null,\n    "e": true\n  }\n}\n'
    )


def test_sweep_and_plan_of_text_and_dicts_name_them_in_errors():
    for call in (
        lambda s: quotasim.sweep(s, vary={"max_tokens": [1024]}),
        lambda s: quotasim.plan(s, "max_tokens", ["throttle_rate <= 0.01"]),
    ):
        with pytest.raises(quotasim.ScenarioError) as info:
            call(BAD)
        e = info.value
        assert (e.file, e.line, e.column) == ("<string>", 4, 21)
        assert str(e).startswith("<string>:4:21: `quota.tokens_per_minute`: ")
        with pytest.raises(quotasim.ScenarioError) as info:
            call({"duration": "5m", "quota": {"tokens_per_minute": "lots"}})
        assert info.value.file == "<dict>"
        assert info.value.key_path == "quota.tokens_per_minute"
        assert "quotasim-" not in str(info.value)


def test_the_error_example_on_the_guide_page():
    with pytest.raises(quotasim.OverrideError) as info:
        quotasim.run(SCENARIOS / "chat-sonnet4-200k.toml", set={"client.concurency": 64})
    e = info.value
    assert (e.key_path, e.help) == ("client.concurency", "did you mean `concurrency`?")
