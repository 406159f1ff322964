"""pytest plugin (entry point ``pytest11``): the ``quotasim_bedrock`` fixture.

``quotasim_bedrock(scenario, time_scale=1.0, **overrides)`` starts the Bedrock Runtime
emulator (``quotasim serve``) in the test process on a free loopback port and returns a
:class:`quotasim.Server` with ``.endpoint_url``, ``.report()`` and ``.boto3_client()``. Every
server the test started is stopped at teardown, whether the test passed or failed.

Overrides are keyword arguments whose names are key paths (``max_tokens=512``); write a dot
as a double underscore (``quota__tokens_per_minute=20000``), or pass a dict as
``set={"quota.tokens_per_minute": 20000}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Mapping, Optional

import pytest

import quotasim

__all__ = ["quotasim_bedrock"]


@pytest.fixture
def quotasim_bedrock() -> Iterator[Callable[..., quotasim.Server]]:
    """Factory of emulators: ``server = quotasim_bedrock("scenario.toml", time_scale=10)``.

    Returns a :class:`quotasim.Server`: ``server.endpoint_url``, ``server.report()`` (the
    live report as a dict, in the ``run`` JSON format) and ``server.boto3_client()`` (a
    ``bedrock-runtime`` client pointed at it, with dummy credentials). Stopped at teardown.
    """
    servers: list[quotasim.Server] = []

    def start(
        scenario: quotasim.ScenarioLike,
        time_scale: float = 1.0,
        *,
        set: Optional[Mapping[str, Any]] = None,
        **overrides: Any,
    ) -> quotasim.Server:
        merged: dict[str, Any] = dict(set or {})
        for key, value in overrides.items():
            merged[key.replace("__", ".")] = value
        server = quotasim.serve(scenario, time_scale=time_scale, set=merged)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
