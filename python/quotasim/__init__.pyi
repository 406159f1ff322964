"""quotasim from Python: simulate LLM API rate-limit quotas (Amazon Bedrock first).

Every function returns exactly the JSON document the matching ``quotasim`` command prints
with ``--format json``, as a dict; ``dumps(doc)`` writes it back byte for byte as the command
does. A scenario is a path, TOML text (a str with a newline) or a dict.
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

__version__: str

ScenarioLike = Union[str, os.PathLike[str], Mapping[str, Any]]
"""A scenario: a path, TOML text (a str with a newline in it) or a dict of tables and keys."""

class QuotasimError(Exception):
    """Any error quotasim reports; ``str(error)`` is what the command prints after ``error:``."""

    message: str
    """What is wrong and what was expected."""
    file: Optional[str]
    """The scenario file, ``<string>`` (TOML text), ``<dict>``, or the flag at fault."""
    line: Optional[int]
    """1-based line in ``file``, when known."""
    column: Optional[int]
    """1-based column in ``file``, when known."""
    key_path: Optional[str]
    """Dotted key path, e.g. ``client.concurrency``, when known."""
    help: Optional[str]
    """A suggestion, e.g. the nearest valid key."""
    origin: Optional[str]
    """The override at fault, as ``--set PATH=VALUE``."""
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
    ) -> None: ...

class ScenarioError(QuotasimError, ValueError):
    """Invalid input: a scenario, an override or an argument value (the command's exit 2)."""

class OverrideError(ScenarioError):
    """Invalid input from an override (``set={...}``); ``origin`` names it."""

class SimulationError(QuotasimError, RuntimeError):
    """A run-time failure (the command's exit status 1)."""

class QuotasimWarning(UserWarning):
    """What the command prints as ``warning:`` or ``note:``."""

def run(
    scenario: ScenarioLike,
    set: Optional[Mapping[str, Any]] = None,
    *,
    seed: Optional[int] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> dict[str, Any]:
    """Simulate a scenario; return the ``quotasim run --format json`` report as a dict.

    ``set`` holds overrides as ``--set PATH=VALUE`` does: ``{"client.concurrency": 16,
    "max_tokens": 2048}``. Raises :class:`ScenarioError` (:class:`OverrideError` for an
    override) on invalid input, :class:`SimulationError` on a run-time failure. The GIL is
    released while it simulates.
    """

def sweep(
    scenario: ScenarioLike,
    vary: Optional[Mapping[str, Union[str, Sequence[Union[int, float, str]]]]] = None,
    set: Optional[Mapping[str, Any]] = None,
    *,
    replications: Optional[int] = None,
    threads: Optional[int] = None,
    objective: Optional[str] = None,
    constraints: Union[str, Sequence[str], None] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> dict[str, Any]:
    """Simulate a grid; return the ``quotasim sweep --format json`` document.

    ``vary={"max_tokens": [1024, 2048, 4096]}`` or ``{"client.concurrency": "1..64:x2"}``
    (first key outermost); ``objective="maximize:METRIC"``; ``constraints=["METRIC OP N"]``.
    """

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
    """Find the smallest (``maximize=True``: largest) value of the integer key ``find`` for
    which every constraint holds with confidence: the ``quotasim plan --format json``
    document."""

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
    json`` document."""

def models(models: Union[str, os.PathLike[str], None] = None) -> dict[str, Any]:
    """The model table, ``{"models": [...]}`` (``quotasim models --format json``); ``models``
    names a TOML file of ``[[model]]`` rows to add or override."""

def dumps(doc: Any) -> str:
    """``doc`` as the command prints JSON, byte for byte (serde_json's layout and numbers)."""

class Server:
    """The Bedrock Runtime emulator (``quotasim serve``) running in this process; a context
    manager that stops it on exit."""

    endpoint_url: str
    """``http://127.0.0.1:PORT``."""
    host: str
    port: int
    @property
    def running(self) -> bool:
        """Whether it still serves."""
    def report(self) -> dict[str, Any]:
        """The live report in the ``run`` JSON format (``GET /quotasim/report``); after
        :meth:`stop`, the final report."""
    def stop(self) -> Optional[dict[str, Any]]:
        """Stop (calls in flight get up to 5 s) and return the final report; None if already
        stopped."""
    def boto3_client(self, region_name: str = "us-east-1", **kwargs: Any) -> Any:
        """A boto3 ``bedrock-runtime`` client pointed at this server with dummy credentials;
        keyword arguments go to ``boto3.client``."""
    def __enter__(self) -> "Server": ...
    def __exit__(self, *exc: object) -> None: ...

def serve(
    scenario: ScenarioLike,
    *,
    time_scale: float = 1.0,
    set: Optional[Mapping[str, Any]] = None,
    listen: str = "127.0.0.1:0",
) -> Server:
    """Start ``quotasim serve`` in this process on a free loopback port (by default)."""
