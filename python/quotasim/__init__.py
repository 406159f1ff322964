"""quotasim from Python: simulate LLM API rate-limit quotas (Amazon Bedrock first).

Every function returns exactly the JSON document the matching ``quotasim`` command prints
with ``--format json``, parsed into a dict::

    import quotasim
    report = quotasim.run("scenarios/chat-sonnet4-200k.toml", set={"max_tokens": 2048})
    report["attempts"]["throttled"]

A scenario is a path (``str`` or ``os.PathLike``), TOML text (a ``str`` with a newline in
it) or a dict of the same tables and keys. Invalid input raises :class:`ScenarioError` with
the command's message, file, line and column. Simulations run without holding the GIL, so
Python threads run them in parallel.

:func:`serve` starts the Bedrock Runtime emulator in this process; the pytest plugin's
``quotasim_bedrock`` fixture wraps it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from decimal import Decimal
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from . import _quotasim

__version__: str = _quotasim.__version__

__all__ = [
    "OverrideError",
    "QuotasimError",
    "QuotasimWarning",
    "ScenarioError",
    "Server",
    "SimulationError",
    "dumps",
    "estimate",
    "models",
    "plan",
    "run",
    "serve",
    "sweep",
]

ScenarioLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class QuotasimError(Exception):
    """Any error quotasim reports. ``str(error)`` is what the command prints after ``error:``.

    Attributes: ``message`` (what is wrong and what was expected), ``file`` (the scenario
    file, ``<string>`` for TOML text, ``<dict>`` for a dict, or the flag at fault), ``line``
    and ``column`` (1-based, or None), ``key_path`` (dotted key, or None), ``help`` (a
    suggestion, or None) and ``origin`` (the ``--set PATH=VALUE`` override at fault, or None).
    """

    def __init__(
        self,
        text: str,
        *,
        message: Optional[str] = None,
        file: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        key_path: Optional[str] = None,
        help: Optional[str] = None,
        origin: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.message = text if message is None else message
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.help = help
        self.origin = origin

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):  # keeps the attributes through pickle (multiprocessing)
        return (_rebuild, (type(self), self.args[0] if self.args else "", self.__dict__))


def _rebuild(cls, text, attrs):
    err = cls(text)
    err.__dict__.update(attrs)
    return err


class ScenarioError(QuotasimError, ValueError):
    """Invalid input: a scenario, an override or an argument value (the command's exit
    status 2)."""


class OverrideError(ScenarioError):
    """Invalid input that came from an override (``set={...}``): ``origin`` names it as
    ``--set PATH=VALUE``."""


class SimulationError(QuotasimError, RuntimeError):
    """A run-time failure: a file that cannot be read or written, a simulation stopped by its
    guard rails (the command's exit status 1)."""


class QuotasimWarning(UserWarning):
    """What the command prints as ``warning:`` or ``note:`` on standard error."""


# --- conversions -------------------------------------------------------------------------


def _convert(err: _quotasim.NativeError, rename: Optional[tuple[str, str]] = None) -> QuotasimError:
    kind, text, message, file, line, column, key_path, help_, origin = err.args

    def fix(s: Optional[str]) -> Optional[str]:
        if s is None or rename is None:
            return s
        return s.replace(rename[0], rename[1])

    if kind == "runtime":
        cls: type[QuotasimError] = SimulationError
    elif origin is not None or (kind == "usage" and text.startswith("--set ")):
        cls = OverrideError
    else:
        cls = ScenarioError
    return cls(
        fix(text) or "",
        message=fix(message),
        file=fix(file),
        line=line,
        column=column,
        key_path=key_path,
        help=fix(help_),
        origin=origin,
    )


def _type_name(value: object) -> str:
    return type(value).__name__


def _plain(value: Any, where: str) -> Any:
    """Checks that a scenario dict holds only what TOML can say."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"{where}: keys must be str, got {k!r} ({_type_name(k)})"
                )
            out[k] = _plain(v, f"{where}.{k}" if where else k)
        return out
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{where or 'scenario'}: expected str, int, float, bool, list or dict, "
        f"got {value!r} ({_type_name(value)})"
    )


def _source(scenario: Any) -> tuple[str, str]:
    """(kind, value) for the extension: ``path``, ``text`` or ``json``."""
    if isinstance(scenario, os.PathLike):
        path = os.fspath(scenario)
        if not isinstance(path, str):
            raise TypeError(f"scenario: expected a str path, got {_type_name(path)}")
        return "path", path
    if isinstance(scenario, str):
        if not scenario.strip():
            raise ValueError("scenario: expected a path, TOML text or a dict, got an empty string")
        if "\n" in scenario:
            return "text", scenario
        return "path", scenario
    if isinstance(scenario, Mapping):
        return "json", json.dumps(_plain(scenario, ""))
    raise TypeError(
        "scenario: expected a path (str or os.PathLike), TOML text (str) or a dict, "
        f"got {_type_name(scenario)}"
    )


def _toml_value(value: Any, where: str, top: bool = True) -> str:
    """A Python value as the TOML text of an override's VALUE."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        # Bare when the command line would read it back as this string (`10m`), so that
        # the overrides a sweep or plan echoes read as the command's; quoted otherwise.
        if top and _quotasim.is_bare_string(value):
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, f"{where}[{i}]", False) for i, v in enumerate(value)) + "]"
    if isinstance(value, Mapping):
        parts = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: keys must be str, got {k!r} ({_type_name(k)})")
            parts.append(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v, f'{where}.{k}', False)}")
        return "{ " + ", ".join(parts) + " }"
    raise TypeError(
        f"{where}: expected str, int, float, bool, list or dict, got {value!r} ({_type_name(value)})"
    )


def _sets(overrides: Any) -> list[str]:
    """``set={"client.concurrency": 16}`` as ``--set`` texts."""
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        raise TypeError(
            "set: expected a dict of overrides such as {'client.concurrency': 16}, "
            f"got {_type_name(overrides)}"
        )
    out = []
    for path, value in overrides.items():
        if not isinstance(path, str) or not path.strip():
            raise TypeError(f"set: keys must be dotted key paths (str), got {path!r}")
        out.append(f"{path}={_toml_value(value, f'set[{path!r}]')}")
    return out


def _opt_int(name: str, value: Any, minimum: int = 0) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {value!r} ({_type_name(value)})")
    if value < minimum:
        raise ValueError(f"{name}: expected at least {minimum}, got {value}")
    if value >= 1 << 64:
        raise ValueError(f"{name}: expected less than 2**64, got {value}")
    return value


def _opt_str(name: str, value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{name}: expected a str, got {value!r} ({_type_name(value)})")


def _strings(name: str, value: Any) -> list[str]:
    """A str or a sequence of str (``constraints``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(
        f"{name}: expected a str or a list of str such as ['throttle_rate <= 0.01'], "
        f"got {value!r}"
    )


def _varies(vary: Any) -> list[str]:
    """``vary={"max_tokens": [512, 1024]}`` as ``--vary`` texts."""
    if vary is None:
        return []
    if not isinstance(vary, Mapping):
        raise TypeError(
            "vary: expected a dict such as {'max_tokens': [512, 1024, 2048]} or "
            f"{{'client.concurrency': '1..64:x2'}}, got {_type_name(vary)}"
        )
    out = []
    for path, values in vary.items():
        if not isinstance(path, str) or not path.strip():
            raise TypeError(f"vary: keys must be dotted key paths (str), got {path!r}")
        if isinstance(values, str):
            out.append(f"{path}={values}")
            continue
        if not isinstance(values, (list, tuple, range)) or len(values) == 0:
            raise TypeError(
                f"vary[{path!r}]: expected a non-empty list of values or a range text "
                f"such as '1..64:x2', got {values!r}"
            )
        texts = []
        for v in values:
            if isinstance(v, bool):
                texts.append("true" if v else "false")
            elif isinstance(v, (int, float)):
                if isinstance(v, float) and not math.isfinite(v):
                    raise ValueError(f"vary[{path!r}]: {v!r} is not a finite number")
                texts.append(repr(v) if isinstance(v, float) else str(v))
            elif isinstance(v, str) and v and "," not in v:
                texts.append(v)
            else:
                raise TypeError(
                    f"vary[{path!r}]: expected numbers or strings without commas, got {v!r}"
                )
        out.append(f"{path}={','.join(texts)}")
    return out


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        warnings.warn(line, QuotasimWarning, stacklevel=3)


class _ScenarioFile:
    """The scenario as a file, for the commands that read one (``sweep``, ``plan``): a path
    as it is, TOML text or a dict written to a temporary file named ``<string>.toml`` or
    ``<dict>.toml`` (messages then name ``<string>`` / ``<dict>``, as ``run``'s do)."""

    def __init__(self, scenario: Any) -> None:
        self.kind, self.value = _source(scenario)
        self._dir: Optional[tempfile.TemporaryDirectory[str]] = None
        self.rename: Optional[tuple[str, str]] = None

    def __enter__(self) -> str:
        if self.kind == "path":
            return self.value
        if self.kind == "json":
            try:
                text = _quotasim.dict_to_toml(self.value)
            except _quotasim.NativeError as e:
                raise _convert(e) from None
            name = "<dict>"
        else:
            text, name = self.value, "<string>"
        self._dir = tempfile.TemporaryDirectory(prefix="quotasim-")
        path = os.path.join(self._dir.name, name + ".toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.rename = (path, name)
        return path

    def __exit__(self, *exc: object) -> None:
        if self._dir is not None:
            self._dir.cleanup()


# --- the command's JSON layout ------------------------------------------------------------


def _number(x: float) -> str:
    """A float as serde_json (ryu) writes it: the shortest digits that read back as `x`, as
    Python's repr finds them, laid out by ryu's rules (``0.00009``, not ``9e-05``;
    ``1e+16``, not ``1e16``); NaN and infinities as ``null``."""
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    t = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    k = int(t.exponent)
    n = len(digits)
    point = n + k  # the decimal point sits after this many digits
    if 0 <= k and point <= 16:
        text = digits + "0" * k + ".0"
    elif 0 < point <= 16:
        text = digits[:point] + "." + digits[point:]
    elif -5 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        e = point - 1
        mantissa = digits if n == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e > 0 else ''}{e}"
    return sign + text


def _write(value: Any, indent: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        out.append("{\n")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",\n")
            out.append(inner + json.dumps(str(k), ensure_ascii=False) + ": ")
            _write(v, inner, out)
        out.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        out.append("[\n")
        for i, v in enumerate(value):
            if i:
                out.append(",\n")
            out.append(inner)
            _write(v, inner, out)
        out.append("\n" + indent + "]")
    else:
        raise TypeError(f"cannot write {_type_name(value)} as JSON")


def dumps(doc: Any) -> str:
    """A document as the command prints it with ``--format json``, byte for byte: two-space
    indentation, ``": "`` after keys, UTF-8 as is, numbers as serde_json writes them, and a
    final newline. ``dumps(quotasim.run(s))`` is ``quotasim run s --format json``'s output.

    Plain ``json.dumps(doc, indent=2, ensure_ascii=False) + "\\n"`` gives the same text
    except for floats below 0.0001 or from 1e16 on, which Python writes with an exponent
    (``9e-05``) where serde_json writes decimals (``0.00009``) or ``e+16``.
    """
    out: list[str] = []
    _write(doc, "", out)
    out.append("\n")
    return "".join(out)


# --- the API -------------------------------------------------------------------------------


def run(
    scenario: ScenarioLike,
    set: Optional[Mapping[str, Any]] = None,
    *,
    seed: Optional[int] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> dict[str, Any]:
    """Simulate a scenario; return the ``quotasim run --format json`` report as a dict.

    Args:
        scenario: a path, TOML text (a str with a newline) or a dict of tables and keys.
        set: overrides, as ``--set PATH=VALUE``: ``{"client.concurrency": 16,
            "max_tokens": 2048}`` (``max_tokens`` and ``concurrency`` are short for
            ``client.max_tokens`` and ``client.concurrency``).
        seed: overrides the scenario's seed (``--seed``).
        max_events, max_memory_mb: the guard rails (``--max-events``, ``--max-memory-mb``).

    Raises:
        ScenarioError: invalid scenario or override (``OverrideError`` for an override).
        SimulationError: the run failed (e.g. it hit a guard rail).

    Emits :class:`QuotasimWarning` for what the command prints as warnings (classes no limit
    can ever admit). The GIL is released while it simulates.
    """
    kind, value = _source(scenario)
    sets = _sets(set)
    seed = _opt_int("seed", seed)
    max_events = _opt_int("max_events", max_events, 1)
    max_memory_mb = _opt_int("max_memory_mb", max_memory_mb, 1)
    try:
        text, notes = _quotasim.run(kind, value, sets, seed, max_events, max_memory_mb)
    except _quotasim.NativeError as e:
        raise _convert(e) from None
    _warn(notes)
    return json.loads(text)


def sweep(
    scenario: ScenarioLike,
    vary: Optional[Mapping[str, Any]] = None,
    set: Optional[Mapping[str, Any]] = None,
    *,
    replications: Optional[int] = None,
    threads: Optional[int] = None,
    objective: Optional[str] = None,
    constraints: Union[str, Sequence[str], None] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> dict[str, Any]:
    """Simulate a grid of values; return the ``quotasim sweep --format json`` document.

    Args:
        scenario: a path, TOML text or a dict (its ``[sweep]`` table supplies defaults).
        vary: the varied keys, first outermost: ``{"max_tokens": [1024, 2048, 4096]}``, or a
            range text as ``--vary`` takes it: ``{"client.concurrency": "1..64:x2"}``.
        set: overrides applied at every point.
        replications: simulations per point (derived seeds).
        threads: worker threads (default: every core); the result does not depend on it.
        objective: ``"maximize:METRIC"`` or ``"minimize:METRIC"``, for the recommendation.
        constraints: ``"METRIC OP NUMBER"`` texts every recommended point must satisfy.
        max_events, max_memory_mb: the guard rails.

    A scenario given as text or a dict is written to a temporary file first; the files it
    names (a trace) are then found relative to that file, so give such a scenario as a path.
    """
    varies = _varies(vary)
    sets = _sets(set)
    replications = _opt_int("replications", replications, 1)
    threads = _opt_int("threads", threads, 1)
    objective = _opt_str("objective", objective)
    constraint_texts = _strings("constraints", constraints)
    max_events = _opt_int("max_events", max_events, 1)
    max_memory_mb = _opt_int("max_memory_mb", max_memory_mb, 1)
    source = _ScenarioFile(scenario)
    with source as path:
        try:
            text = _quotasim.sweep(
                path,
                varies,
                sets,
                replications,
                threads,
                objective,
                constraint_texts,
                max_events,
                max_memory_mb,
            )
        except _quotasim.NativeError as e:
            raise _convert(e, source.rename) from None
    if source.rename is not None:
        text = text.replace(json.dumps(source.rename[0])[1:-1], source.rename[1])
    return json.loads(text)


def plan(
    scenario: ScenarioLike,
    find: str,
    constraints: Union[str, Sequence[str]],
    *,
    maximize: bool = False,
    range: Union[str, tuple[int, int], None] = None,
    resolution: Optional[int] = None,
    replications: Optional[int] = None,
    confidence: Optional[float] = None,
    set: Optional[Mapping[str, Any]] = None,
    threads: Optional[int] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> dict[str, Any]:
    """Find the smallest (``maximize=True``: largest) value of an integer key for which every
    constraint holds with confidence; return the ``quotasim plan --format json`` document.

    Args:
        scenario: a path, TOML text or a dict.
        find: the key searched, e.g. ``"quota.tokens_per_minute"``, ``"max_tokens"``.
        constraints: ``"METRIC OP NUMBER"`` texts, e.g. ``"throttle_rate <= 0.01"``.
        maximize: find the largest value instead (``--max``).
        range: ``"LO..HI"`` or ``(lo, hi)``.
        resolution, replications, confidence, set, threads, max_events, max_memory_mb: as
            the command's flags.
    """
    if not isinstance(find, str):
        raise TypeError(f"find: expected a key path (str), got {_type_name(find)}")
    constraint_texts = _strings("constraints", constraints)
    if not isinstance(maximize, bool):
        raise TypeError(f"maximize: expected a bool, got {_type_name(maximize)}")
    if isinstance(range, tuple):
        if len(range) != 2:
            raise ValueError(f"range: expected (lo, hi), got {range!r}")
        lo = _opt_int("range[0]", range[0])
        hi = _opt_int("range[1]", range[1])
        range_text: Optional[str] = f"{lo}..{hi}"
    else:
        range_text = _opt_str("range", range)
    resolution = _opt_int("resolution", resolution, 1)
    replications = _opt_int("replications", replications, 1)
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float))
    ):
        raise TypeError(f"confidence: expected a float, got {_type_name(confidence)}")
    sets = _sets(set)
    threads = _opt_int("threads", threads, 1)
    max_events = _opt_int("max_events", max_events, 1)
    max_memory_mb = _opt_int("max_memory_mb", max_memory_mb, 1)
    source = _ScenarioFile(scenario)
    with source as path:
        try:
            text, notes = _quotasim.plan(
                path,
                find,
                constraint_texts,
                maximize,
                range_text,
                resolution,
                replications,
                None if confidence is None else float(confidence),
                sets,
                threads,
                max_events,
                max_memory_mb,
            )
        except _quotasim.NativeError as e:
            raise _convert(e, source.rename) from None
    if source.rename is not None:
        text = text.replace(json.dumps(source.rename[0])[1:-1], source.rename[1])
        notes = [n.replace(source.rename[0], source.rename[1]) for n in notes]
    _warn(notes)
    return json.loads(text)


def estimate(
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    max_tokens: Optional[int] = None,
    tokens_per_minute: Optional[int] = None,
    reserve: str = "input+max_tokens",
) -> dict[str, Any]:
    """The closed-form quota arithmetic of one request: the ``quotasim estimate --format
    json`` document.

    Args:
        model: a model preset or alias (see :func:`models`).
        input_tokens, output_tokens: the request's sizes.
        max_tokens: the request's ``max_tokens`` (default: the model's maximum output).
        tokens_per_minute: a quota, to add how many such requests fit in a minute.
        reserve: ``"input+max_tokens"`` or ``"input+max_tokens*burndown"``.
    """
    if not isinstance(model, str):
        raise TypeError(f"model: expected a str, got {_type_name(model)}")
    input_tokens = _opt_int("input_tokens", input_tokens)  # type: ignore[assignment]
    output_tokens = _opt_int("output_tokens", output_tokens)  # type: ignore[assignment]
    if input_tokens is None or output_tokens is None:
        raise TypeError("input_tokens and output_tokens are required ints")
    max_tokens = _opt_int("max_tokens", max_tokens, 1)
    tokens_per_minute = _opt_int("tokens_per_minute", tokens_per_minute, 1)
    if not isinstance(reserve, str):
        raise TypeError(f"reserve: expected a str, got {_type_name(reserve)}")
    try:
        text, notes = _quotasim.estimate(
            model, input_tokens, output_tokens, max_tokens, tokens_per_minute, reserve
        )
    except _quotasim.NativeError as e:
        raise _convert(e) from None
    _warn(notes)
    return json.loads(text)


def models(models: Union[str, "os.PathLike[str]", None] = None) -> dict[str, Any]:
    """The model table: the ``quotasim models --format json`` document ``{"models": [...]}``.

    Args:
        models: a TOML file of ``[[model]]`` rows that add to or override the bundled table.
    """
    path: Optional[str] = None
    if models is not None:
        if isinstance(models, os.PathLike):
            models = os.fspath(models)
        if not isinstance(models, str):
            raise TypeError(f"models: expected a path, got {_type_name(models)}")
        path = models
    try:
        text = _quotasim.models(path)
    except _quotasim.NativeError as e:
        raise _convert(e) from None
    return json.loads(text)


class Server:
    """The Bedrock Runtime emulator (``quotasim serve``) running in this process.

    Use it as a context manager, or call :meth:`stop`. Attributes: ``endpoint_url``
    (``http://127.0.0.1:PORT``), ``host``, ``port``.
    """

    def __init__(self, native: _quotasim.Server) -> None:
        self._native = native
        host, _, port = native.addr.rpartition(":")
        self.host: str = host.strip("[]")
        self.port: int = int(port)
        self.endpoint_url: str = f"http://{native.addr}"

    @property
    def running(self) -> bool:
        """Whether it still serves."""
        return self._native.running

    def report(self) -> dict[str, Any]:
        """The live report, in the ``run`` JSON format (what ``GET /quotasim/report``
        returns); after :meth:`stop`, the final report."""
        text = self._native.report()
        if text is None:
            if self._final is None:
                raise RuntimeError("the server was stopped before any report was taken")
            return self._final
        return json.loads(text)

    _final: Optional[dict[str, Any]] = None

    def stop(self) -> Optional[dict[str, Any]]:
        """Stops accepting, lets calls in flight finish (up to 5 s) and returns the final
        report (the one ``quotasim serve`` prints on SIGTERM); None if already stopped."""
        text = self._native.stop()
        if text is None:
            return None
        self._final = json.loads(text)
        return self._final

    def boto3_client(self, region_name: str = "us-east-1", **kwargs: Any) -> Any:
        """A boto3 ``bedrock-runtime`` client pointed at this server, with dummy credentials.
        Keyword arguments go to ``boto3.client`` (e.g. ``config=botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 3})``). Needs boto3 installed."""
        try:
            import boto3
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Server.boto3_client() needs boto3: pip install boto3 (or quotasim[boto3])"
            ) from e
        kwargs.setdefault("aws_access_key_id", "quotasim")
        kwargs.setdefault("aws_secret_access_key", "quotasim")
        return boto3.client(
            "bedrock-runtime", endpoint_url=self.endpoint_url, region_name=region_name, **kwargs
        )

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<quotasim.Server {self.endpoint_url} {state}>"


def serve(
    scenario: ScenarioLike,
    *,
    time_scale: float = 1.0,
    set: Optional[Mapping[str, Any]] = None,
    listen: str = "127.0.0.1:0",
) -> Server:
    """Start ``quotasim serve`` in this process, on a free loopback port by default.

    Args:
        scenario: a path, TOML text or a dict with the pools to serve.
        time_scale: run the simulated clock this many times faster than the wall clock
            (quota windows last 60/X s, latencies are divided by X).
        set: overrides.
        listen: ``HOST:PORT`` to bind (port 0: a free port).
    """
    kind, value = _source(scenario)
    sets = _sets(set)
    if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
        raise TypeError(f"time_scale: expected a number, got {_type_name(time_scale)}")
    if not isinstance(listen, str):
        raise TypeError(f"listen: expected 'HOST:PORT', got {_type_name(listen)}")
    try:
        native = _quotasim.Server(kind, value, sets, float(time_scale), listen)
    except _quotasim.NativeError as e:
        raise _convert(e) from None
    return Server(native)
