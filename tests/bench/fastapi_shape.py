#!/usr/bin/python3
"""fastapi_shape.py — the request_3 shape in FastAPI, beside libdi's.

The same three dependencies as the request_3 benchmark — config (a
singleton), a yield db session whose teardown runs after the response, and
current_user (needs session and config) — in FastAPI 0.92 (Debian's
python3-fastapi), calling the ASGI app directly in-process: once through
Depends and once with the same objects made by hand in the endpoint,
alternating, in pairs. Each system is reported against its own hand-wired
code: FastAPI's per-pair ratio (with Depends / by hand) and extra ns per
request, median with min-max; libdi's the same from di_bench's request_3
(its paired ratio against the faster hand-wired baseline). No multiplier
between the two systems is printed: their costs come from different
processes and runtimes.

usage: fastapi_shape.py [--smoke] [--bench PATH/TO/di_bench]
Prints a short table and one "json: " line. Exits 77 (skip) when FastAPI is
not installed.
"""
import asyncio
import json
import statistics
import subprocess
import sys
import time

try:
    import fastapi
    from fastapi import Depends, FastAPI
except ImportError:
    print("SKIP: python3-fastapi is not installed: no FastAPI comparison")
    sys.exit(77)

closed = 0


class Config:
    value = 42


CONFIG = Config()


class Session:
    def __init__(self, cfg):
        self.cfg = cfg
        self.open = True


class User:
    def __init__(self, session, cfg, uid):
        self.session = session
        self.cfg = cfg
        self.id = uid


async def get_config():
    return CONFIG


async def get_session(cfg: Config = Depends(get_config)):
    global closed
    s = Session(cfg)
    try:
        yield s
    finally:
        s.open = False
        closed += 1


async def get_current_user(s: Session = Depends(get_session),
                           cfg: Config = Depends(get_config)):
    return User(s, cfg, 7)


app = FastAPI()


@app.get("/me")
async def me(cfg: Config = Depends(get_config),
             s: Session = Depends(get_session),
             u: User = Depends(get_current_user)):
    return {"id": u.id + cfg.value}


@app.get("/plain")
async def plain():
    """The same objects by hand, the same teardown."""
    global closed
    cfg = CONFIG
    s = Session(cfg)
    try:
        u = User(s, cfg, 7)
        return {"id": u.id + cfg.value}
    finally:
        s.open = False
        closed += 1


def make_scope(path):
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [], "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80)}


async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}


async def batch(path, n):
    scope = make_scope(path)
    status = []

    async def send(msg):
        if msg["type"] == "http.response.start":
            status.append(msg["status"])

    t0 = time.perf_counter_ns()
    for _ in range(n):
        await app(scope, receive, send)
    dt = time.perf_counter_ns() - t0
    if any(s != 200 for s in status):
        raise SystemExit(f"{path}: status {set(status)}")
    return dt / n


async def measure(n, reps):
    await batch("/me", n // 10 + 1)      # warm-up
    await batch("/plain", n // 10 + 1)
    with_di, by_hand = [], []
    for r in range(reps):                # alternating, in pairs
        if r % 2:
            with_di.append(await batch("/me", n))
            by_hand.append(await batch("/plain", n))
        else:
            by_hand.append(await batch("/plain", n))
            with_di.append(await batch("/me", n))
    return with_di, by_hand


def spread(values):
    return statistics.median(values), min(values), max(values)


def libdi_request_3(bench, smoke):
    args = [bench, "--only", "request_3"] + (["--smoke"] if smoke else [])
    out = subprocess.run(args, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("json: "):
            return json.loads(line[6:])
    return None


def main():
    smoke = "--smoke" in sys.argv
    bench = None
    if "--bench" in sys.argv:
        bench = sys.argv[sys.argv.index("--bench") + 1]
    n, reps = (50, 3) if smoke else (20000, 11)
    with_di, by_hand = asyncio.run(measure(n, reps))
    ratio = spread([d / h for d, h in zip(with_di, by_hand)])
    cost = spread([d - h for d, h in zip(with_di, by_hand)])
    print(f"FastAPI {fastapi.__version__}, Python {sys.version.split()[0]}, "
          f"request_3 shape, {n} calls x {reps} pairs")
    print(f"  with Depends / by hand  {ratio[0]:.2f} ({ratio[1]:.2f}-"
          f"{ratio[2]:.2f})")
    print(f"  Depends costs           {cost[0]:.0f} ns per request "
          f"({cost[1]:.0f}-{cost[2]:.0f})")
    row = {"case": "fastapi_request_3", "unit": "ratio",
           "fastapi": {"ratio": ratio[0], "ratio_min": ratio[1],
                       "ratio_max": ratio[2], "di_ns": cost[0],
                       "di_ns_min": cost[1], "di_ns_max": cost[2]},
           "smoke": smoke, "fastapi_version": fastapi.__version__}
    if bench:
        j = libdi_request_3(bench, smoke)
        if j:
            print(f"  libdi request_3 / hand-wired (di_bench, paired) "
                  f"{j['ratio']:.2f} ({j.get('ratio_min', j['ratio']):.2f}-"
                  f"{j.get('ratio_max', j['ratio']):.2f}), "
                  f"{j['libdi']['median'] - j['hand']['median']:.0f} ns "
                  f"per request")
            row["libdi"] = {"ratio": j["ratio"],
                            "ratio_min": j.get("ratio_min"),
                            "ratio_max": j.get("ratio_max"),
                            "di_ns": j["libdi"]["median"] -
                            j["hand"]["median"]}
    print("json: " + json.dumps(row))
    if closed == 0:
        raise SystemExit("the session teardown never ran")


if __name__ == "__main__":
    main()
