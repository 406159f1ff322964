#!/usr/bin/env python3
"""A reference for quotasim's retry modes: the real botocore retry handlers, driven inside a
small discrete-event simulation of the same quota model.

The handlers are built the way an application builds them: a ``bedrock-runtime`` client with
``Config(retries={'mode': 'standard' | 'adaptive'})``. The simulation then fires the same
events botocore's endpoint fires for each attempt, through the client's own event emitter:

* ``before-send``  -> ``ClientRateLimiter.on_sending_request`` (adaptive only: the token bucket)
* ``needs-retry``  -> ``RetryHandler.needs_retry`` (retry conditions, retry quota, backoff) and
                      ``ClientRateLimiter.on_receiving_response`` (CUBIC rate update)
* ``after-call``   -> ``RetryQuotaChecker.release_retry_quota``

Only these things are replaced, all of them the parts that touch real time or threads:

* the adaptive limiter's clock (``bucket.Clock``) reads the simulated clock;
* the backoff's ``random`` is a seeded stream;
* a timed wait lasts at least 1 µs (see ``MIN_WAIT``);
* the token bucket's ``threading.Condition`` is a simulated one with CPython's semantics:
  ``wait(timeout)`` appends a new waiter to the back of the waiters and the waiting sender
  resumes after ``timeout`` (removing itself) or when ``notify()`` pops it from the front.
  A blocked ``acquire`` is resumed by calling ``acquire`` again, which is exactly the rest of
  botocore's wait loop (refill, then take a token or wait again).

The quota model is the one quotasim documents for a single fixed-window tokens-per-minute
limit: windows ``[k*60, (k+1)*60)`` s; admission needs ``used[k] + R <= limit`` and charges R;
a success settles to C and a 503 to 0, refunding ``R - settled`` to the charged window if it
is still the current one (else the refund is lost); a throttled attempt charges nothing and
is answered after the throttle latency; a 503 is answered after the TTFT. The client holds one
of ``concurrency`` slots from its first attempt to its final outcome (sleeps included) and
queues the rest in FIFO order. Arrivals are Poisson.

Usage: reference_sim.py PARAMS_JSON  (prints one JSON object per seed, one per line)
"""

import heapq
import json
import math
import random
import sys
from collections import deque

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.hooks import first_non_none_response
from botocore.retries import adaptive, bucket, standard

EXPECTED_BOTOCORE = "1.44.8"
# A timed wait lasts at least a microsecond. On a real machine the clock moves between two
# looks at the bucket; in simulated time a wait of (1 - 0.9999999999999982) / rate seconds
# would not move a float clock at all and the sender would spin forever.
MIN_WAIT = 1e-6


class SimClock:
    """``bucket.Clock`` on simulated time."""

    def __init__(self):
        self.now = 0.0

    def current_time(self):
        return self.now

    def sleep(self, amount):  # never called by the bucket; a blocking sleep would be a bug
        raise RuntimeError("real sleep inside the simulation")


class Blocked(Exception):
    """Raised out of ``Condition.wait``: the sender must wait ``timeout`` seconds."""

    def __init__(self, waiter, timeout):
        super().__init__()
        self.waiter = waiter
        self.timeout = timeout


class Waiter:
    """CPython's per-wait lock object: one per ``wait()`` call."""

    __slots__ = ("rid",)

    def __init__(self, rid):
        self.rid = rid


class SimCondition:
    """``threading.Condition`` for one simulated sender at a time (CPython 3 semantics)."""

    def __init__(self, sim):
        self.sim = sim
        self.waiters = deque()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def wait(self, timeout=None):
        waiter = Waiter(self.sim.current_rid)
        self.waiters.append(waiter)  # CPython: self._waiters.append(waiter)
        raise Blocked(waiter, timeout)

    def notify(self, n=1):
        while self.waiters and n > 0:
            waiter = self.waiters.popleft()
            n -= 1
            self.sim.schedule(self.sim.clock.now, ("notified", waiter))


class Request:
    __slots__ = ("arrival", "attempts", "request_dict", "outcome", "window", "reserved")

    def __init__(self, arrival):
        self.arrival = arrival
        self.attempts = 0
        self.request_dict = {"context": {}}
        self.outcome = None
        self.window = 0
        self.reserved = 0


class Sim:
    def __init__(self, p, seed):
        self.p = p
        self.clock = SimClock()
        self.events = []
        self.seq = 0
        self.rng_arrivals = random.Random(f"arrivals-{seed}")
        self.rng_faults = random.Random(f"faults-{seed}")
        self.rng_retries = random.Random(f"retries-{seed}")
        self.current_rid = None
        self.requests = []
        self.in_flight = 0
        self.queue = deque()
        self.used = {}
        self.m = dict(arrived=0, succeeded=0, failed=0, sent=0, admitted=0, throttled=0,
                      server_errors=0)
        self._build_client(p["mode"])

    # --- botocore -----------------------------------------------------------------------

    def _build_client(self, mode):
        captured = {}
        orig_standard = standard.register_retry_handler
        orig_adaptive = adaptive.register_retry_handler
        orig_clock = bucket.Clock

        def cap_standard(*a, **kw):
            captured["handler"] = orig_standard(*a, **kw)
            return captured["handler"]

        def cap_adaptive(*a, **kw):
            captured["limiter"] = orig_adaptive(*a, **kw)
            return captured["limiter"]

        standard.register_retry_handler = cap_standard
        adaptive.register_retry_handler = cap_adaptive
        bucket.Clock = lambda: self.clock
        try:
            retries = {"mode": mode}
            if self.p.get("total_max_attempts") is not None:
                retries["total_max_attempts"] = self.p["total_max_attempts"]
            self.client = botocore.session.get_session().create_client(
                "bedrock-runtime",
                region_name="us-east-1",
                aws_access_key_id="reference",
                aws_secret_access_key="reference",
                config=Config(retries=retries),
            )
        finally:
            standard.register_retry_handler = orig_standard
            adaptive.register_retry_handler = orig_adaptive
            bucket.Clock = orig_clock
        handler = captured["handler"]
        handler._retry_policy._retry_backoff._random = self.rng_retries.random
        self.limiter = captured.get("limiter")
        if self.limiter is not None:
            self.condition = SimCondition(self)
            self.limiter._token_bucket._new_fill_rate_condition = self.condition
        self.op = self.client.meta.service_model.operation_model("InvokeModel")
        self.events_ = self.client.meta.events
        self.service_id = self.op.service_model.service_id.hyphenize()

    def _response(self, status, code):
        http = AWSResponse("https://bedrock-runtime.us-east-1.amazonaws.com", status, {}, None)
        parsed = {"ResponseMetadata": {"HTTPStatusCode": status}}
        if code is not None:
            parsed["Error"] = {"Code": code, "Message": code}
        return http, parsed

    # --- event loop ---------------------------------------------------------------------

    def schedule(self, t, ev):
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, ev))

    def run(self):
        p = self.p
        rate = p["rate_per_minute"] / 60.0
        t = self.rng_arrivals.expovariate(rate)
        if t < p["duration"]:
            self.schedule(t, ("arrival",))
        while self.events:
            t, _, ev = heapq.heappop(self.events)
            self.clock.now = t
            kind = ev[0]
            if kind == "arrival":
                self.arrival(rate)
            elif kind == "retry":
                self.send(ev[1])
            elif kind == "ends":
                self.attempt_ends(ev[1])
            elif kind == "timer":
                waiter = ev[1]
                if waiter in self.condition.waiters:  # timed out: CPython removes it
                    self.condition.waiters.remove(waiter)
                    self.resume(waiter.rid)
            elif kind == "notified":
                self.resume(ev[1].rid)
        return self.m

    def arrival(self, rate):
        rid = len(self.requests)
        self.requests.append(Request(self.clock.now))
        self.m["arrived"] += 1
        if self.in_flight < self.p.get("concurrency", 1 << 60):
            self.in_flight += 1
            self.send(rid)
        else:
            self.queue.append(rid)
        t = self.clock.now + self.rng_arrivals.expovariate(rate)
        if t < self.p["duration"]:
            self.schedule(t, ("arrival",))

    def send(self, rid):
        """botocore's ``_get_response``: ``before-send`` (the adaptive bucket), then send."""
        self.current_rid = rid
        try:
            self.events_.emit(f"before-send.{self.service_id}.InvokeModel", request=None)
        except Blocked as b:
            self.schedule(self.clock.now + max(b.timeout, MIN_WAIT), ("timer", b.waiter))
            return
        self.start_attempt(rid)

    def resume(self, rid):
        """The rest of ``TokenBucket._acquire``'s loop after ``wait`` returns."""
        self.current_rid = rid
        try:
            self.limiter._token_bucket.acquire()
        except Blocked as b:
            self.schedule(self.clock.now + max(b.timeout, MIN_WAIT), ("timer", b.waiter))
            return
        self.start_attempt(rid)

    def start_attempt(self, rid):
        p, r, now = self.p, self.requests[rid], self.clock.now
        r.attempts += 1
        self.m["sent"] += 1
        k = math.floor(now / 60.0)
        reserve = p["input_tokens"] + p["max_tokens"]
        if self.used.get(k, 0) + reserve <= p["tokens_per_minute"]:
            self.used[k] = self.used.get(k, 0) + reserve
            r.window, r.reserved = k, reserve
            self.m["admitted"] += 1
            if p["error_rate"] > 0 and self.rng_faults.random() < p["error_rate"]:
                r.outcome = "503"
                self.schedule(now + p["ttft"], ("ends", rid))
            else:
                r.outcome = "ok"
                out = min(p["output_tokens"], p["max_tokens"])
                self.schedule(now + p["ttft"] + out / p["output_tokens_per_second"],
                              ("ends", rid))
        else:
            r.outcome = "429"
            self.m["throttled"] += 1
            self.schedule(now + p["throttle_latency"], ("ends", rid))

    def settle(self, r, cost):
        k = math.floor(self.clock.now / 60.0)
        if k == r.window:
            self.used[k] -= r.reserved - cost
        elif cost > r.reserved:
            self.used[k] = self.used.get(k, 0) + cost - r.reserved

    def attempt_ends(self, rid):
        p, r = self.p, self.requests[rid]
        if r.outcome == "ok":
            out = min(p["output_tokens"], p["max_tokens"])
            self.settle(r, p["input_tokens"] + p["output_burndown"] * out)
            http, parsed = self._response(200, None)
        elif r.outcome == "503":
            self.settle(r, 0)
            self.m["server_errors"] += 1
            http, parsed = self._response(503, "ServiceUnavailableException")
        else:
            http, parsed = self._response(429, "ThrottlingException")
        # botocore's endpoint: needs-retry after every response (success included).
        responses = self.events_.emit(
            f"needs-retry.{self.service_id}.InvokeModel",
            response=(http, parsed),
            endpoint=None,
            operation=self.op,
            attempts=r.attempts,
            caught_exception=None,
            request_dict=r.request_dict,
        )
        delay = first_non_none_response(responses)
        if delay is not None and delay is not False:
            self.schedule(self.clock.now + delay, ("retry", rid))
            return
        # The call is over: the client's after-call (retry-quota release on a 2xx).
        self.events_.emit(
            f"after-call.{self.service_id}.InvokeModel",
            http_response=http,
            parsed=parsed,
            model=self.op,
            context=r.request_dict["context"],
        )
        self.m["succeeded" if r.outcome == "ok" else "failed"] += 1
        self.in_flight -= 1
        if self.queue:
            self.in_flight += 1
            self.send(self.queue.popleft())


def main():
    if botocore.__version__ != EXPECTED_BOTOCORE:
        sys.exit(f"botocore {botocore.__version__} installed, {EXPECTED_BOTOCORE} expected")
    params = json.loads(sys.argv[1])
    for seed in params["seeds"]:
        m = Sim(params, seed).run()
        m["seed"] = seed
        print(json.dumps(m), flush=True)


if __name__ == "__main__":
    main()
