"""The load benchmark: the shop under gunicorn as in production, measured against its floor.

    .venv/bin/python bench/run.py                 # full run, SQLite and MySQL, writes RESULTS.md
    .venv/bin/python bench/run.py --smoke         # a few seconds per scenario, SQLite, for CI
    .venv/bin/python bench/run.py --db mysql --duration 30 --stripe-latency-ms 300

For each database it creates a fresh one (SQLite file, or a MySQL/MariaDB database at
MYSQL_URL), loads the data (bench/data.py), starts devstripe answering after
--stripe-latency-ms and the shop exactly as the Procfile does (gunicorn with
gunicorn.conf.py, DJANGO_DEBUG=false), and drives it with wrk from another CPU. Every
figure is given as is and as a ratio to the floor, /bench/floor/ (bench/urls.py),
measured in the same run. After each ordering scenario it checks that orders, Stripe
charges and PAID orders agree. Exits non-zero on any error or disagreement; a missed
performance target is reported, not fatal (the machine may be busy).
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # the shop's own environment
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from devstripe.testing import DevStripeProcess  # noqa: E402
from tests.servers import free_port, stop, wait_until_up  # noqa: E402

OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept by bench/run.py. -->"
DATA_PREFIX = "bench-data: "  # bench/data.py's result line
WRK_PREFIX = "bench-wrk: "  # bench/lua/report.lua's result line
# Every request comes through the load balancer, which ends TLS and says so.
FORWARDED = "X-Forwarded-Proto: https"

TARGETS = {
    "catalog_vs_floor": 0.70,  # catalog requests/s ≥ 70% of the floor's
    "orders_vs_ideal": 0.50,  # orders/s ≥ 50% of buyers / Stripe latency
    "catalog_p99_under_orders": 3.0,  # catalog p99 while ordering ≤ 3 × alone
}


@dataclass
class Scenario:
    key: str
    title: str
    path: str
    expect: int  # the status every answer should have
    connections: int
    headers: list = field(default_factory=list)
    script: str = "bench/lua/report.lua"
    script_args: list = field(default_factory=list)


@dataclass
class Result:
    scenario: Scenario
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict

    ratio: float = 1.0  # requests/s relative to the floor, the median over the rounds
    rounds: int = 1

    @property
    def rps(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok_rps(self):
        return self.statuses.get(self.scenario.expect, 0) / self.seconds if self.seconds else 0.0


class BenchError(Exception):
    pass


# -- processes -------------------------------------------------------------------------


def cpu_plan(pin):
    """Which CPUs the server gets and which the load (wrk, devstripe) gets, if any."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None, None
    return cpus[:-1], cpus[-1:]


def pinned(command, cpus):
    if not cpus:
        return command
    return ["taskset", "-c", ",".join(map(str, cpus)), *command]


def procfile_command():
    """The Procfile's web command, run with this environment's Python."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            words = shlex.split(line.removeprefix("web:"))
            if words[0] != "gunicorn":
                raise BenchError(f"the Procfile's web process is not gunicorn: {line}")
            return [sys.executable, "-m", "gunicorn", *words[1:]]
    raise BenchError("no web: line in the Procfile")


@contextmanager
def mysql_database(name):
    base = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306").rstrip("/")
    url = f"{base}/{name}"
    script = [sys.executable, str(ROOT / "scripts" / "mysql_database.py")]
    subprocess.run([*script, "create", url], check=True)
    try:
        yield url
    finally:
        subprocess.run([*script, "drop", url], check=False)


@contextmanager
def sqlite_database(path):
    path.unlink(missing_ok=True)
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_data(env, *args):
    done = subprocess.run(
        [sys.executable, "-m", "bench.data", *args],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith(DATA_PREFIX):
            return json.loads(line.removeprefix(DATA_PREFIX))
    raise BenchError(f"bench/data.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def gunicorn(env, url, cpus, log_path):
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            pinned(procfile_command(), cpus), cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            try:
                wait_until_up(f"{url}/api/health/", process, seconds=60)
            except RuntimeError as error:
                raise BenchError(f"{error}; see {log_path}") from None
            yield process
        finally:
            stop(process, timeout=30)


# -- load ------------------------------------------------------------------------------


def start_wrk(base_url, scenario, seconds, cpus):
    command = [
        shutil.which("wrk") or "wrk",
        "--threads", "1",
        "--connections", str(scenario.connections),
        "--duration", f"{seconds}s",
        "--timeout", "10s",
        "--latency",
        "--script", scenario.script,
        "--header", FORWARDED,
    ]  # fmt: skip
    for header in scenario.headers:
        command += ["--header", header]
    command += [base_url + scenario.path, "--", *scenario.script_args]
    return subprocess.Popen(
        pinned(command, cpus), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish_wrk(process, scenario):
    stdout, stderr = process.communicate()
    summary = next(
        (
            json.loads(line.removeprefix(WRK_PREFIX))
            for line in stdout.splitlines()
            if line.startswith(WRK_PREFIX)
        ),
        None,
    )
    if process.returncode != 0 or summary is None:
        raise BenchError(f"wrk failed for {scenario.key}:\n{stdout}\n{stderr}")
    statuses = {int(status): n for status, n in summary["statuses"].items()}
    socket_errors = sum(summary["errors"][kind] for kind in ("connect", "read", "write", "timeout"))
    unexpected = sum(n for status, n in statuses.items() if status != scenario.expect)
    return Result(
        scenario=scenario,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["latency_us"]["p50"] / 1000,
        p99_ms=summary["latency_us"]["p99"] / 1000,
        errors=socket_errors + unexpected,
        statuses=statuses,
    )


def run_wrk(base_url, scenario, seconds, cpus):
    return finish_wrk(start_wrk(base_url, scenario, seconds, cpus), scenario)


def merge(results, floors):
    """One scenario over the rounds: totals, and the medians of p50, p99 and of the ratio
    to the floor of the same round (robust to a burst of load from elsewhere)."""
    statuses = Counter()
    for result in results:
        statuses.update(result.statuses)
    return Result(
        scenario=results[0].scenario,
        requests=sum(result.requests for result in results),
        seconds=sum(result.seconds for result in results),
        p50_ms=median(result.p50_ms for result in results),
        p99_ms=median(result.p99_ms for result in results),
        errors=sum(result.errors for result in results),
        statuses=dict(statuses),
        ratio=median(
            result.rps / floor.rps if floor.rps else 0
            for result, floor in zip(results, floors, strict=True)
        ),
        rounds=len(results),
    )


# -- checks ----------------------------------------------------------------------------


def stripe_charges(stripe):
    """Every charge devstripe holds, listed as Stripe lists them (newest first, by pages)."""
    saved = stripe.configure()["latency_ms"]
    stripe.configure(latency_ms=0)  # the listing is ours, not the shop's: no need to wait
    try:
        charges, params = [], {"limit": 100}
        while True:
            page = requests.get(
                f"{stripe.url}/v1/charges",
                params=params,
                headers={"Authorization": f"Bearer {stripe.secret_key}"},
                timeout=30,
            ).json()
            charges += page["data"]
            if not page["has_more"]:
                return charges
            params["starting_after"] = page["data"][-1]["id"]
    finally:
        stripe.configure(latency_ms=saved)


def check_orders(env, stripe, answered_201, in_flight_at_most):
    """No order lost or doubled: the buyer's orders, Stripe's charges and PAID agree."""
    deadline = time.monotonic() + 60
    while True:  # let the orders still in flight when wrk stopped finish
        state = run_data(env, "check")
        if not state["by_status"].get("PENDING") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    charges = stripe_charges(stripe)
    succeeded = [charge for charge in charges if charge["status"] == "succeeded"]
    charged_orders = [int(charge["metadata"]["order_id"]) for charge in charges]
    by_status = state["by_status"]
    paid = by_status.get("PAID", 0)
    problems = []
    if not state["orders"] == len(charges) == len(succeeded) == paid == state["attempts"]:
        problems.append("the counts differ")
    if set(state["paid_charge_ids"]) != {charge["id"] for charge in charges}:
        problems.append("PAID orders' charge ids are not Stripe's charges")
    if len(set(charged_orders)) != len(charged_orders):
        problems.append("an order was charged twice")
    if set(charged_orders) != set(state["paid_order_ids"]):
        problems.append("charges' order ids are not the PAID orders")
    # wrk stops without reading the answers to the requests it has in flight.
    if not answered_201 <= state["orders"] <= answered_201 + in_flight_at_most:
        problems.append("the 201 answers do not match the orders")
    line = (
        f"{state['orders']} orders, {len(charges)} Stripe charges ({len(succeeded)} succeeded), "
        f"{paid} PAID, {by_status.get('PENDING', 0)} PENDING, {by_status.get('FAILED', 0)} "
        f"FAILED, {state['attempts']} payment attempts; {answered_201} answered 201 "
        f"(+{state['orders'] - answered_201} whose answers wrk did not wait for when its runs "
        f"stopped, at most {in_flight_at_most})"
    )
    return {"ok": not problems, "line": line, "problems": problems}


# -- one database ----------------------------------------------------------------------


def bench_database(kind, args, cpus):
    server_cpus, load_cpus = cpus
    out = OUT / kind
    out.mkdir(parents=True, exist_ok=True)
    database = (
        mysql_database(f"stripedemo_bench_{os.getpid()}")
        if kind == "mysql"
        else sqlite_database(out / "bench.sqlite3")
    )
    with (
        database as database_url,
        DevStripeProcess(latency_ms=args.stripe_latency_ms, quiet=True) as stripe,
    ):
        if load_cpus:
            os.sched_setaffinity(stripe.process.pid, load_cpus)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.urandom(32).hex(),
            "DATABASE_URL": database_url,
            "STRIPE_API_BASE": stripe.url,
            "STRIPE_SECRET_KEY": stripe.secret_key,
            "STRIPE_PUBLISHABLE_KEY": stripe.publishable_key,
            "STRIPE_WEBHOOK_SECRET": "whsec_" + os.urandom(16).hex(),
            "GUNICORN_BIND": "127.0.0.1",
            "PORT": str(port),
            # The buyers are load generators on one address, far faster than shoppers:
            # the payment limits (orders/throttling.py) would measure themselves.
            "THROTTLE_PAYMENT_RATE": "1000000/min",
            "THROTTLE_PAYMENT_ADDRESS_RATE": "1000000/min",
            "THROTTLE_PAYMENT_DECLINES": "1000000/hour",
            "THROTTLE_CONFIRM_RATE": "1000000/min",
        }
        for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "DB_CONN_MAX_AGE"):
            env.pop(name, None)  # the defaults of gunicorn.conf.py and settings, unless asked
        if args.workers:
            env["WEB_CONCURRENCY"] = str(args.workers)
        if args.threads:
            env["GUNICORN_THREADS"] = str(args.threads)
        if args.conn_max_age is not None:
            env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
        print(f"\n== {kind}: loading data", flush=True)
        data = run_data(env, "load", f"127.0.0.1:{port}")
        info = run_data(env, "info")
        env["BENCH_FLOOR_BYTES"] = str(data["catalog_bytes"])
        print(
            f"{info['database']}: {data['products']} products ({data['catalog_bytes']} bytes "
            f"of JSON), a reader with {data['reader_orders']} orders",
            flush=True,
        )

        reader = f"Authorization: JWT {data['reader_token']}"
        buyer = f"Authorization: JWT {data['buyer_token']}"
        c, buyers = args.connections, args.buyers
        order_args = [str(data["product_id"])]
        scenarios = {
            "floor": Scenario("floor", "floor: GET /bench/floor/", "/bench/floor/", 200, c),
            "catalog": Scenario("catalog", "1. GET /api/product/", "/api/product/", 200, c),
            "orders": Scenario(
                "orders", "2. GET /api/order/ (500 orders)", "/api/order/", 200, c, [reader]
            ),
            "orders_page": Scenario(
                "orders_page",
                "2. GET /api/order/?limit=20",
                "/api/order/?limit=20",
                200,
                c,
                [reader],
            ),
        }

        def order_scenario(tag, title):
            return Scenario(
                tag, title, "/api/order/", 201, buyers, [buyer], "bench/lua/order.lua",
                [tag, *order_args],
            )  # fmt: skip

        with gunicorn(env, base_url, server_cpus, out / "gunicorn.log"):
            catalog = requests.get(
                base_url + "/api/product/", headers=dict([FORWARDED.split(": ")]), timeout=10
            )
            floor = requests.get(
                base_url + "/bench/floor/", headers=dict([FORWARDED.split(": ")]), timeout=10
            )
            if catalog.status_code != 200 or len(floor.content) != len(catalog.content):
                raise BenchError(
                    f"the floor ({len(floor.content)} bytes) must be as large as the catalog "
                    f"({catalog.status_code}, {len(catalog.content)} bytes)"
                )
            etag = catalog.headers["ETag"]
            scenarios["catalog_304"] = Scenario(
                "catalog_304",
                "1. GET /api/product/ + If-None-Match",
                "/api/product/",
                304,
                c,
                [f"If-None-Match: {etag}"],
            )

            print(f"warming up ({args.warmup}s per path)", flush=True)
            for key in ("floor", "catalog", "orders_page"):
                run_wrk(base_url, scenarios[key], args.warmup, load_cpus)
            warm = run_wrk(base_url, order_scenario("warmup", "warm-up"), args.warmup, load_cpus)
            answered_201 = warm.statuses.get(201, 0)

            rounds, checks = {}, []
            order_runs = 1  # the warm-up's buyers may still have had orders in flight

            def measure(key, result):
                rounds.setdefault(key, []).append(result)
                print(format_line(result, rounds["floor"][-1]), flush=True)

            def check(name):
                nonlocal order_runs
                order_runs += 1
                result = check_orders(env, stripe, answered_201, order_runs * buyers)
                checks.append((name, result))
                print(f"check {name}:", result["line"], flush=True)

            reads = ["floor"]
            reads += ["catalog", "catalog_304"] if "catalog" in args.only else []
            reads += ["orders", "orders_page"] if "orders" in args.only else []
            for number in range(1, args.rounds + 1):
                # Every scenario once per round, so that the machine's other load falls on
                # all of them alike; figures are merged over the rounds.
                print(f"-- round {number} of {args.rounds}", flush=True)
                for key in reads:
                    measure(key, run_wrk(base_url, scenarios[key], args.duration, load_cpus))

                if "buy" in args.only:
                    # 3. Buyers alone.
                    buy = order_scenario(f"buy{number}", "3. POST /api/order/")
                    measure("buy", run_wrk(base_url, buy, args.duration, load_cpus))
                    answered_201 += rounds["buy"][-1].statuses.get(201, 0)
                    check(f"after 3 (round {number})")

                if "mixed" in args.only:
                    # 4. The catalog while buyers wait on Stripe: the buyers start first and
                    # end last, so that the catalog is measured only while orders are in flight.
                    margin = max(1, round(args.duration / 10))
                    buy = order_scenario(f"mixed{number}", "4. POST /api/order/ meanwhile")
                    buying = start_wrk(base_url, buy, args.duration + 2 * margin, load_cpus)
                    time.sleep(margin)
                    under = Scenario(
                        "catalog_under_orders",
                        "4. GET /api/product/ while 3. runs",
                        "/api/product/",
                        200,
                        c,
                    )
                    measure(
                        "catalog_under_orders", run_wrk(base_url, under, args.duration, load_cpus)
                    )
                    measure("buy_4", finish_wrk(buying, buy))
                    answered_201 += rounds["buy_4"][-1].statuses.get(201, 0)
                    check(f"after 4 (round {number})")

        results = {key: merge(key_rounds, rounds["floor"]) for key, key_rounds in rounds.items()}
        server_errors = [  # the shop's log lines, and gunicorn's own
            line
            for line in (out / "gunicorn.log").read_text().splitlines()
            if any(level in line for level in (" ERROR ", " CRITICAL ", "[ERROR]", "[CRITICAL]"))
        ]
        # The catalog's p99 while buyers pay over its p99 alone, round by round.
        p99_ratios = [
            under.p99_ms / alone.p99_ms
            for alone, under in zip(
                rounds.get("catalog", []), rounds.get("catalog_under_orders", []), strict=False
            )
        ]
        return {
            "kind": kind,
            "p99_ratios": p99_ratios,
            "database": info["database"],
            "data": {k: v for k, v in data.items() if not k.endswith("_token")},
            "results": results,
            "checks": checks,
            "server_errors": server_errors,
        }


# -- reporting -------------------------------------------------------------------------


def format_line(result, floor):
    ratio = result.rps / floor.rps if floor.rps else 0
    return (
        f"{result.scenario.title:<40} {result.rps:9.1f} req/s ({ratio:5.0%} of floor)  "
        f"p50 {result.p50_ms:8.1f} ms  p99 {result.p99_ms:8.1f} ms  errors {result.errors}"
        f"  {dict(sorted(result.statuses.items()))}"
    )


def evaluate(run, args):
    """Each target with its figure and whether it was met, for the scenarios that ran."""
    r = run["results"]
    floor = r["floor"]
    targets = []
    if "catalog" in r:
        ratio = r["catalog"].ratio
        targets.append(
            (
                f"catalog ≥ {TARGETS['catalog_vs_floor']:.0%} of the floor's requests/s",
                f"{ratio:.0%} ({r['catalog'].rps:.0f} vs {floor.rps:.0f} req/s)",
                ratio >= TARGETS["catalog_vs_floor"],
            )
        )
        conditional = r["catalog_304"]
        targets.append(
            (
                "conditional GET answered 304",
                f"{conditional.statuses.get(304, 0)} of {conditional.requests} "
                f"({conditional.ratio:.0%} of the floor's requests/s)",
                conditional.requests > 0 and conditional.errors == 0,
            )
        )
    ideal = args.buyers / (args.stripe_latency_ms / 1000) if args.stripe_latency_ms else None
    if "buy" in r and ideal:
        per_second = r["buy"].ok_rps
        targets.append(
            (
                f"orders/s ≥ {TARGETS['orders_vs_ideal']:.0%} of {args.buyers} buyers / "
                f"{args.stripe_latency_ms} ms = {ideal:.1f}/s",
                f"{per_second:.1f}/s ({per_second / ideal:.0%})",
                per_second >= TARGETS["orders_vs_ideal"] * ideal,
            )
        )
    if run["p99_ratios"]:
        p99_ratio = median(run["p99_ratios"])
        rounds = ", ".join(f"{ratio:.1f}×" for ratio in run["p99_ratios"])
        targets.append(
            (
                f"catalog p99 while ordering ≤ {TARGETS['catalog_p99_under_orders']:.0f}× alone "
                "(median over the rounds of the ratio in each round)",
                f"{p99_ratio:.1f}× (rounds: {rounds}); p50 {r['catalog_under_orders'].p50_ms:.1f}"
                f" vs {r['catalog'].p50_ms:.1f} ms",
                p99_ratio <= TARGETS["catalog_p99_under_orders"],
            )
        )
    errors = sum(result.errors for result in r.values())
    targets.append(("zero errors", f"{errors}", errors == 0))
    if run["checks"]:
        targets.append(
            (
                "orders, Stripe charges and PAID orders agree after each ordering scenario",
                "; ".join(
                    f"{name}: {'yes' if check['ok'] else ', '.join(check['problems'])}"
                    for name, check in run["checks"]
                ),
                all(check["ok"] for _, check in run["checks"]),
            )
        )
    return targets


def table(run):
    rows = [
        "| scenario | requests/s | × floor | p50 ms | p99 ms | errors | answers |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in run["results"].values():
        statuses = ", ".join(f"{n} × {status}" for status, n in sorted(result.statuses.items()))
        rows.append(
            f"| {result.scenario.title} | {result.rps:.1f} | {result.ratio:.2f} | "
            f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} | {statuses} |"
        )
    return rows


def versions():
    import django
    import gunicorn
    import rest_framework

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    wrk_version = (wrk.stdout or wrk.stderr).split("Copyright")[0].strip()
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"DRF {rest_framework.VERSION}, gunicorn {gunicorn.__version__}, {wrk_version}"
    )


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory_kib / 2**20:.0f} GiB, "
        f"{platform.system()} {platform.release()}"
    )


def gunicorn_settings(args):
    """The worker settings gunicorn.conf.py gives with this run's environment."""
    env = {**os.environ}
    for name, value in (("WEB_CONCURRENCY", args.workers), ("GUNICORN_THREADS", args.threads)):
        if value:
            env[name] = str(value)
        else:
            env.pop(name, None)
    code = (
        "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(c['worker_class'], c['workers'], c['threads'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    worker_class, workers, threads = out.stdout.split()
    return f"{worker_class}, {workers} workers × {threads} threads"


def write_results(runs, args, command, started, loads, cpus):
    notes = ""
    if RESULTS.exists() and NOTES_MARKER in RESULTS.read_text():
        notes = RESULTS.read_text().split(NOTES_MARKER, 1)[1]
    server_cpus, load_cpus = cpus
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (see the README's Performance section); the notes at the",
        "end are by hand. Figures are absolute and as a ratio to the floor, measured in the",
        "same run: this machine is shared and noisy, the ratios are what to compare.",
        "",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, `{command}`",
        f"- Machine: {machine()}; load average before {loads[0]}, after {loads[1]}",
        f"- Versions: {versions()}",
        f"- Server: gunicorn as the Procfile starts it ({gunicorn_settings(args)}), "
        f"DJANGO_DEBUG=false, log level INFO"
        + (f", DB_CONN_MAX_AGE={args.conn_max_age}" if args.conn_max_age is not None else ""),
        "- CPUs: "
        + (
            f"the shop on CPU {','.join(map(str, server_cpus))}; wrk and devstripe on CPU "
            f"{','.join(map(str, load_cpus))} (taskset); the database server unpinned"
            if server_cpus
            else "not pinned"
        ),
        f"- Load: wrk, one thread, {args.connections} connections for the reads, "
        f"{args.buyers} for the buyers; devstripe answering after {args.stripe_latency_ms} "
        f"ms; after a {args.warmup} s warm-up, {args.rounds} rounds of every scenario in "
        f"turn, {args.duration} s each",
        "- Figures: requests/s over all rounds; × floor, p50 and p99 are the medians over "
        "the rounds (× floor: the scenario's requests/s over the floor's in the same round); "
        "errors are failed requests and answers with another status than the expected one",
        "",
    ]
    for run in runs:
        lines += [f"## {run['database']}", ""]
        lines += table(run)
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for target, measured, met in evaluate(run, args):
            lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
        lines += [""]
        for name, check in run["checks"]:
            lines.append(f"- Check {name}: {check['line']}.")
        lines.append(f"- Server errors logged: {len(run['server_errors'])}.")
        lines.append("")
    lines += [NOTES_MARKER]
    RESULTS.write_text("\n".join(lines) + (notes if notes else "\n"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="seconds, SQLite, for CI")
    parser.add_argument("--db", choices=["sqlite", "mysql", "both"])
    parser.add_argument("--duration", type=int, help="seconds per scenario and round (default 10)")
    parser.add_argument("--rounds", type=int, help="every scenario this often (default 3)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per path (default 3)")
    parser.add_argument("--stripe-latency-ms", type=int, default=300)
    parser.add_argument("--connections", type=int, default=10, help="for the reads")
    parser.add_argument("--buyers", type=int, default=20, help="concurrent POST /api/order/")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: gunicorn.conf.py)")
    parser.add_argument("--conn-max-age", type=int, help="DB_CONN_MAX_AGE (default: settings)")
    parser.add_argument(
        "--only",
        default="catalog,orders,buy,mixed",
        help="scenario groups to run (the floor always runs): catalog (1.), orders (2.), "
        "buy (3.), mixed (4.)",
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="no taskset")
    parser.add_argument("--no-write", dest="write", action="store_false", help="no RESULTS.md")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    args.db = args.db or ("sqlite" if args.smoke else "both")
    args.duration = args.duration or (2 if args.smoke else 10)
    args.rounds = args.rounds or (1 if args.smoke else 3)
    args.warmup = args.warmup or (1 if args.smoke else 3)
    if args.smoke:
        args.write = False
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/bootstrap --dev")

    cpus = cpu_plan(args.pin)
    started = datetime.now(UTC)
    load_before = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"bench: load average {load_before}; server CPUs {cpus[0]}, load CPUs {cpus[1]}")
    runs = []
    try:
        for kind in ("sqlite", "mysql") if args.db == "both" else (args.db,):
            runs.append(bench_database(kind, args, cpus))
    except BenchError as error:
        raise SystemExit(f"bench: {error}") from None
    load_after = ", ".join(f"{n:.2f}" for n in os.getloadavg())

    failed = False
    for run in runs:
        print(f"\n== {run['database']}")
        print("\n".join(table(run)))
        for target, measured, met in evaluate(run, args):
            print(f"{'met    ' if met else 'MISSED '} {target}: {measured}")
        problems = [p for _, check in run["checks"] for p in check["problems"]]
        errors = sum(result.errors for result in run["results"].values())
        empty = [r.scenario.key for r in run["results"].values() if r.requests == 0]
        if problems or errors or empty or run["server_errors"]:
            failed = True
            print(
                f"FAILED: {errors} errors, empty scenarios {empty}, check problems "
                f"{problems}, {len(run['server_errors'])} server errors"
            )
            for line in run["server_errors"][:5]:
                print("  ", line[:300])
    if args.write:
        command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        write_results(runs, args, command.strip(), started, (load_before, load_after), cpus)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
