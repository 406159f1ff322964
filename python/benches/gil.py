"""Is the GIL released while quotasim simulates? Two simulations run one after the other,
then on two Python threads at once; with the GIL released (and two free cores) the threads
take about half the time.

    python python/benches/gil.py [--repeat 5] [--hours 600]

Prints the fastest of --repeat timings of each and their ratio (threads / sequential); the
goal is at most 1/1.7 = 0.59. Timings vary with the machine's load: run it on an idle one
(it prints the load average and the CPU time the process got, which tell a busy machine).
It also counts the steps a pure-Python thread makes while one simulation runs: with the GIL
held they would be none.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import quotasim

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "chat-sonnet4-200k.toml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--hours", type=int, default=600, help="simulated duration of each run")
    a = ap.parse_args()
    overrides = {"duration": f"{a.hours}h"}

    def one(seed: int) -> None:
        quotasim.run(SCENARIO, overrides, seed=seed)

    one(1)  # warm up (page in the module, the model table)
    sequential, threaded, cpu_seq, cpu_thr = [], [], [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        one(1)
        one(2)
        sequential.append(time.perf_counter() - t)
        cpu_seq.append(time.process_time() - c)
        threads = [threading.Thread(target=one, args=(s,)) for s in (1, 2)]
        t, c = time.perf_counter(), time.process_time()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        threaded.append(time.perf_counter() - t)
        cpu_thr.append(time.process_time() - c)
    s, p = min(sequential), min(threaded)
    steps = [0]
    done = threading.Event()

    def spin() -> None:
        while not done.is_set():
            steps[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.05)
    before = steps[0]
    t = time.perf_counter()
    one(3)
    during = steps[0] - before
    elapsed = time.perf_counter() - t
    done.set()
    spinner.join()
    print(f"cores available: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()}")
    print(f"two runs of {SCENARIO.name} with duration={a.hours}h, fastest of {a.repeat}:")
    print(f"  one after the other: {s:.3f} s")
    print(f"  two threads at once: {p:.3f} s")
    print(f"  ratio threads/sequential: {p / s:.3f} (goal <= {1 / 1.7:.3f}); speed-up {s / p:.2f}x")
    print(f"  CPU time the process got: {min(cpu_seq):.3f} s sequential, {min(cpu_thr):.3f} s threads")
    print(f"a Python thread made {during:,} steps during one {elapsed:.3f} s simulation")


if __name__ == "__main__":
    main()
