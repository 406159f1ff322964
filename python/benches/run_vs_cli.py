"""quotasim.run against the command's own run time, on the bundled reference scenario.

    python python/benches/run_vs_cli.py [--repeat 30] [--binary target/release/quotasim]

Times, fastest of --repeat each:
  * the command: `quotasim run SCENARIO --format json > /dev/null`, the whole process (what
    a shell user waits for), with the Rust binary cargo built (`cargo build --release`);
  * the command's simulation alone, as its `--timings` reports it (`engine.wall_ms`);
  * quotasim.run(SCENARIO) in this interpreter: load, simulate, render and json.loads.
The goal: quotasim.run costs at most 5% more than the command. It also times a 10-hour
version of the scenario, where the simulation dominates. Timings vary with the machine's
load: run it on an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import quotasim

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "chat-sonnet4-200k.toml"


def fastest(f, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "quotasim"))
    a = ap.parse_args()
    if not os.path.isfile(a.binary):
        raise SystemExit(f"no {a.binary}: run `cargo build --release` first")
    print(f"load average: {os.getloadavg()}; fastest of {a.repeat}")
    for label, extra, overrides in [
        ("reference (30m)", [], None),
        ("10h", ["--set", "duration=10h"], {"duration": "10h"}),
    ]:
        cmd = [a.binary, "run", str(SCENARIO), "--format", "json", *extra]

        def command() -> None:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)

        def api() -> None:
            quotasim.run(SCENARIO, overrides)

        api()
        command()
        t_cmd = fastest(command, a.repeat)
        t_api = fastest(api, a.repeat)
        walls = []
        for _ in range(a.repeat):
            out = subprocess.run([*cmd, "--timings"], capture_output=True, text=True, check=True)
            walls.append(json.loads(out.stdout)["engine"]["wall_ms"] / 1000)
        t_sim = min(walls)
        print(f"{SCENARIO.name} {label}:")
        print(f"  command, whole process:      {t_cmd * 1000:9.3f} ms")
        print(f"  command, simulation alone:   {t_sim * 1000:9.3f} ms (--timings)")
        print(f"  quotasim.run:                {t_api * 1000:9.3f} ms")
        print(f"  quotasim.run / command:      {t_api / t_cmd:9.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
