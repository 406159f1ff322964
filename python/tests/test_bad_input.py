"""Wrong types, unknown keyword arguments and invalid values raise Python exceptions with
clear messages; nothing crashes the interpreter."""

from __future__ import annotations

import pytest

import quotasim
from conftest import SCENARIOS

PATH = str(SCENARIOS / "chat-sonnet4-200k.toml")


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: quotasim.run([1, 2]), TypeError, "scenario: expected a path"),
        (lambda: quotasim.run(42), TypeError, "got int"),
        (lambda: quotasim.run(b"scenario.toml"), TypeError, "got bytes"),
        (lambda: quotasim.run(None), TypeError, "got NoneType"),
        (lambda: quotasim.run(""), ValueError, "empty string"),
        (lambda: quotasim.run(PATH, {"max_tokens": 1024}, foo=1), TypeError, "foo"),
        (lambda: quotasim.run(PATH, ["max_tokens=1024"]), TypeError, "set: expected a dict"),
        (lambda: quotasim.run(PATH, {"max_tokens": object()}), TypeError, "set['max_tokens']"),
        (lambda: quotasim.run(PATH, {"max_tokens": float("nan")}), ValueError, "finite"),
        (lambda: quotasim.run(PATH, {3: 1}), TypeError, "key paths"),
        (lambda: quotasim.run(PATH, seed="7"), TypeError, "seed: expected an int"),
        (lambda: quotasim.run(PATH, seed=-1), ValueError, "seed: expected at least 0"),
        (lambda: quotasim.run(PATH, seed=2**64), ValueError, "seed"),
        (lambda: quotasim.run(PATH, max_events=0), ValueError, "max_events"),
        (lambda: quotasim.run({"quota": {"tokens_per_minute": None}}), TypeError, "quota.tokens_per_minute"),
        (lambda: quotasim.run({1: "x"}), TypeError, "keys must be str"),
        (lambda: quotasim.sweep(PATH, vary="max_tokens=1,2"), TypeError, "vary: expected a dict"),
        (lambda: quotasim.sweep(PATH, vary={"max_tokens": []}), TypeError, "non-empty"),
        (lambda: quotasim.sweep(PATH, vary={"max_tokens": [1]}, threads=0), ValueError, "threads"),
        (lambda: quotasim.sweep(PATH, vary={"max_tokens": [1]}, constraints=[1]), TypeError, "constraints"),
        (lambda: quotasim.plan(PATH, 3, ["throttle_rate <= 0.01"]), TypeError, "find"),
        (lambda: quotasim.plan(PATH, "max_tokens", ["x"], maximize="yes"), TypeError, "maximize"),
        (lambda: quotasim.estimate("claude-sonnet-4", -1, 5), ValueError, "input_tokens"),
        (lambda: quotasim.estimate("claude-sonnet-4", 1.5, 5), TypeError, "input_tokens"),
        (lambda: quotasim.estimate("claude-sonnet-4", True, 5), TypeError, "input_tokens"),
        (lambda: quotasim.estimate(None, 1, 5), TypeError, "model"),
        (lambda: quotasim.estimate("claude-sonnet-4", 1, 5, bogus=1), TypeError, "bogus"),
        (lambda: quotasim.models(42), TypeError, "models: expected a path"),
        (lambda: quotasim.serve(PATH, time_scale="fast"), TypeError, "time_scale"),
        (lambda: quotasim.serve(PATH, listen=8080), TypeError, "listen"),
    ],
)
def test_wrong_types_and_values_raise_clear_python_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


@pytest.mark.parametrize(
    "call, words",
    [
        # An override of a key that does not exist names it and the nearest valid key.
        (lambda: quotasim.run(PATH, {"client.concurency": 4}), "concurrency"),
        (lambda: quotasim.run(PATH, {"client..x": 4}), "not a valid key path"),
        (lambda: quotasim.run(PATH, {"client.concurrency": "many"}), "client.concurrency"),
        (lambda: quotasim.run(PATH, {"duration": "5 fortnights"}), "duration"),
        (lambda: quotasim.sweep(PATH, vary={"max_tokens": "a..b"}), "--vary max_tokens=a..b"),
        (lambda: quotasim.sweep(PATH, vary={"max_tokens": [1]}, objective="up:x"), "--objective"),
        (lambda: quotasim.plan(PATH, "max_tokens", ["throttle_rate <=="]), "--constraint"),
        (lambda: quotasim.plan(PATH, "no.such.key", ["throttle_rate <= 0.01"]), "no.such.key"),
        (lambda: quotasim.estimate("claude-sonnet-4", 1, 1, reserve="all"), "--reserve"),
        (lambda: quotasim.estimate("claude-sonnet-4", 2**51, 1), "--input-tokens"),
        (lambda: quotasim.serve(PATH, time_scale=0), "time"),
        (lambda: quotasim.serve(PATH, listen="nowhere"), "--listen nowhere"),
    ],
)
def test_invalid_values_raise_scenario_errors(call, words):
    with pytest.raises(quotasim.ScenarioError) as info:
        call()
    assert words in str(info.value)


def test_a_scenario_past_the_guard_rails_is_refused_with_the_flag_to_pass():
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(PATH, max_events=10)
    assert "--max-events" in str(info.value)


def test_a_file_that_cannot_be_read_is_a_scenario_error(tmp_path):
    with pytest.raises(quotasim.ScenarioError) as info:
        quotasim.run(tmp_path)
    assert "is a directory" in str(info.value)


def test_hostile_text_never_crashes():
    for text in ["[[[\n", "\x00\n\x01", "a = 1\n" * 3 + "[a]\n", "x = '\udc80'\n"[:5] + "\n"]:
        with pytest.raises(quotasim.ScenarioError):
            quotasim.run(text)
    with pytest.raises(quotasim.ScenarioError):
        quotasim.run({"quota": {"tokens_per_minute": 2**70}})
