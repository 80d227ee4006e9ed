#!/usr/bin/python3
"""injector_shape.py — the request_3 shape in python-injector, beside libdi's.

The same three dependencies as the request_3 benchmark — config (a
singleton), a session with a teardown, and current_user (needs session and
config) — in injector 0.20 (Debian's python3-injector) with a per-request
scope written the way its users write one (a Scope whose cache a request
begins and ends), against the same objects made by hand, alternating, in
pairs. Reported against its own hand-wired code: the per-pair ratio and
the extra ns per request, median with min-max. libdi's own ratio is
di_bench's request_3 (printed by fastapi_shape.py and di_bench); no
multiplier between the two systems is printed.

usage: injector_shape.py [--smoke]
Prints a short table and one "json: " line. Exits 77 (skip) when injector
is not installed.
"""
import json
import statistics
import sys
import time

try:
    import injector
    from injector import Injector, Module, Scope, ScopeDecorator, inject
    from injector import InstanceProvider, provider, singleton
except ImportError:
    print("SKIP: python3-injector is not installed: no injector comparison")
    sys.exit(77)

closed = 0


class RequestScope(Scope):
    """One cache per request: begin() before it, end() after (teardown)."""

    def configure(self):
        self.cache = None

    def begin(self):
        self.cache = {}

    def end(self):
        global closed
        s = self.cache.get(Session)
        if s is not None:
            s.get(self.injector).open = False
            closed += 1
        self.cache = None

    def get(self, key, prov):
        try:
            return self.cache[key]
        except KeyError:
            p = InstanceProvider(prov.get(self.injector))
            self.cache[key] = p
            return p


request = ScopeDecorator(RequestScope)


class Config:
    value = 42


class Session:
    def __init__(self, cfg):
        self.cfg = cfg
        self.open = True


class User:
    def __init__(self, session, cfg, uid):
        self.session = session
        self.cfg = cfg
        self.id = uid


class AppModule(Module):
    @singleton
    @provider
    def config(self) -> Config:
        return Config()

    @request
    @provider
    def session(self, cfg: Config) -> Session:
        return Session(cfg)

    @request
    @provider
    def user(self, s: Session, cfg: Config) -> User:
        return User(s, cfg, 7)


INJ = Injector([AppModule()])
SCOPE = INJ.get(RequestScope)
CONFIG = INJ.get(Config)


def with_injector(n):
    total = 0
    t0 = time.perf_counter_ns()
    for _ in range(n):
        SCOPE.begin()
        cfg, u = INJ.get(Config), INJ.get(User)
        total += u.id + cfg.value
        SCOPE.end()
    return (time.perf_counter_ns() - t0) / n, total


def by_hand(n):
    global closed
    total = 0
    t0 = time.perf_counter_ns()
    for _ in range(n):
        cfg = CONFIG
        s = Session(cfg)
        u = User(s, cfg, 7)
        total += u.id + cfg.value
        s.open = False
        closed += 1
    return (time.perf_counter_ns() - t0) / n, total


def spread(values):
    return statistics.median(values), min(values), max(values)


def main():
    smoke = "--smoke" in sys.argv
    n, reps = (50, 3) if smoke else (20000, 11)
    with_injector(n // 10 + 1)
    by_hand(n // 10 + 1)
    di, hand = [], []
    for r in range(reps):
        if r % 2:
            di.append(with_injector(n)[0])
            hand.append(by_hand(n)[0])
        else:
            hand.append(by_hand(n)[0])
            di.append(with_injector(n)[0])
    if with_injector(1)[1] != by_hand(1)[1]:
        raise SystemExit("injector and the hand-wired code disagree")
    ratio = spread([d / h for d, h in zip(di, hand)])
    cost = spread([d - h for d, h in zip(di, hand)])
    version = getattr(injector, "__version__", "?")
    print(f"injector {version}, Python {sys.version.split()[0]}, request_3 "
          f"shape with a request scope, {n} requests x {reps} pairs")
    print(f"  injector / by hand  {ratio[0]:.2f} ({ratio[1]:.2f}-"
          f"{ratio[2]:.2f})")
    print(f"  injector costs      {cost[0]:.0f} ns per request "
          f"({cost[1]:.0f}-{cost[2]:.0f})")
    print("json: " + json.dumps({
        "case": "injector_request_3", "unit": "ratio",
        "injector": {"ratio": ratio[0], "ratio_min": ratio[1],
                     "ratio_max": ratio[2], "di_ns": cost[0],
                     "di_ns_min": cost[1], "di_ns_max": cost[2]},
        "smoke": smoke, "injector_version": version}))
    if closed == 0:
        raise SystemExit("the session teardown never ran")


if __name__ == "__main__":
    main()
