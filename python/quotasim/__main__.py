"""The ``quotasim`` command (and ``python -m quotasim``): the Rust command line, run through
the extension module, with the same flags, output and exit status as the binary that
``cargo build`` makes."""

from __future__ import annotations

import signal
import sys
import threading


def main() -> None:
    """Runs ``quotasim`` with ``sys.argv`` and exits with its status."""
    from quotasim._quotasim import cli_main

    # Ctrl-C is the command's: it stops a run at once and lets `sweep` and `serve` finish
    # cleanly with their own handlers, as in the binary (Python would only note it).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.stdout.flush()
    sys.exit(cli_main(["quotasim", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
