"""The extension module (Rust, PyO3). Use the functions of ``quotasim`` instead: they check
arguments, parse the JSON and raise ``quotasim.ScenarioError``."""

from typing import Optional

__version__: str

class NativeError(Exception):
    """(kind, text, message, file, line, column, key_path, help, origin)."""

def run(
    kind: str,
    scenario: str,
    sets: list[str],
    seed: Optional[int] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> tuple[str, list[str]]: ...
def sweep(
    path: str,
    vary: list[str],
    sets: list[str],
    replications: Optional[int] = None,
    threads: Optional[int] = None,
    objective: Optional[str] = None,
    constraints: list[str] = ...,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> str: ...
def plan(
    path: str,
    find: str,
    constraints: list[str],
    maximize: bool = False,
    range: Optional[str] = None,
    resolution: Optional[int] = None,
    replications: Optional[int] = None,
    confidence: Optional[float] = None,
    sets: list[str] = ...,
    threads: Optional[int] = None,
    max_events: Optional[int] = None,
    max_memory_mb: Optional[int] = None,
) -> tuple[str, list[str]]: ...
def estimate(
    model: str,
    input_tokens: int,
    output_tokens: int,
    max_tokens: Optional[int] = None,
    tokens_per_minute: Optional[int] = None,
    reserve: str = "input+max_tokens",
) -> tuple[str, list[str]]: ...
def models(path: Optional[str] = None) -> str: ...
def dict_to_toml(json: str) -> str: ...
def is_bare_string(text: str) -> bool: ...
def cli_main(argv: list[str]) -> int: ...

class Server:
    def __init__(
        self,
        kind: str,
        scenario: str,
        sets: list[str],
        time_scale: float = 1.0,
        listen: str = "127.0.0.1:0",
    ) -> None: ...
    @property
    def addr(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def report(self) -> Optional[str]: ...
    def stop(self) -> Optional[str]: ...
