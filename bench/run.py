"""The load benchmark: what a request costs the shop, and how fast it serves, against its floor.

    .venv/bin/python bench/run.py            # SQLite and MySQL, twice each; writes RESULTS.md
    .venv/bin/python bench/run.py --smoke    # a few seconds per scenario, SQLite, for CI
    .venv/bin/python bench/run.py --db mysql --duration 30 --repeat 1 --no-write

For each database it creates a fresh one (SQLite file, or a MySQL/MariaDB database at
MYSQL_URL), loads the data (bench/data.py), starts devstripe answering after
--stripe-latency-ms and the shop exactly as the Procfile does (gunicorn with
gunicorn.conf.py, DJANGO_DEBUG=false), and drives it with wrk from another CPU.

Every scenario reports requests/s, p50, p99 and the CPU the shop's processes spent per
request (utime + stime of the gunicorn master and its workers, all their threads, from
/proc/<pid>/stat before and after the scenario), each as is and as a ratio to the floor,
/bench/floor/ (bench/urls.py), measured in the same round: CPU per request is what the
shop costs whatever the machine's speed, the ratios are what to compare across machines.
Figures are the medians of the rounds, with their spread. With --repeat 2 (the default
for a full run) everything runs twice and the report says whether the two runs' medians
agree within ±15 %; with --repeat 1 it compares with the previous run's figures, kept
in bench/out/latest.json.

After each ordering scenario it checks that orders, Stripe charges and PAID orders agree;
with Stripe's rate limit on (devstripe --rate-limit) the orders Stripe refused stay
PENDING until `manage.py reconcile_orders` settles them, and the check runs again. Exits
non-zero on any error or disagreement; a missed target is reported, not fatal (the
machine may be busy).
"""

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

TARGETS = {
    "cpu_per_order_vs_floor": 10.0,  # CPU per paid order ≤ 10 × one floor request's
    "cpu_per_order_ms": 10.0,  # … and ≤ 10 ms
    "orders_vs_ideal": 0.75,  # orders/s ≥ 75 % of buyers / Stripe's latency
    "catalog_vs_floor": 0.80,  # catalog requests/s ≥ 0.8 × the floor's
    "catalog_p99_under_orders": 2.0,  # catalog p99 while ordering ≤ 2 × alone
}
AGREEMENT = 0.15  # two runs' medians agree within ±15 %
# wrk gives up on an answer after this long. Reads: far beyond any. Orders: as long as
# nginx's proxy_read_timeout and the load balancer's idle timeout (60 s), past which a
# shopper would get a 504 from them rather than the shop's answer.
READ_TIMEOUT_S = 10
ORDER_TIMEOUT_S = 60
# The shop's answers to a payment that Stripe refused for its rate limit: 503, the order
# kept PENDING and settled later (orders/views.py).
PAYMENT_PENDING = 503


@dataclass
class Scenario:
    key: str
    title: str
    path: str
    accept: tuple  # the statuses every answer should have
    connections: int
    headers: list = field(default_factory=list)
    script: str = "bench/lua/report.lua"
    script_args: list = field(default_factory=list)
    timeout_s: int = READ_TIMEOUT_S


@dataclass
class Result:
    """One wrk run of one scenario, with the shop's CPU over it."""

    key: str
    title: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    socket_errors: dict
    statuses: dict
    samples: dict  # status -> the first body answered with it (truncated)
    ok_status: int  # the status that counts as served (200, 201, 304)
    cpu_ms: float | None = None  # the shop's CPU per request (per order for orders)
    cpu_note: str = ""
    db_cpu_ms: float | None = None  # MariaDB's, per request, when it runs here
    ratio: float = 1.0  # requests/s over the floor's in the same round
    cpu_ratio: float | None = None  # cpu_ms over the floor's in the same round
    orders: int = 0  # orders created during the run (ordering scenarios)

    @property
    def rps(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok_rps(self):
        return self.statuses.get(self.ok_status, 0) / self.seconds if self.seconds else 0.0


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


def server_error_lines(log_path):
    """The shop's log lines (JSON, stripedemo/logging.py) and gunicorn's at ERROR or worse,
    except Django's own line for each 503 answer: a payment whose outcome is pending is an
    answer the shop means to give (scenario 6), and wrk counts any it should not have."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            level = record.get("level", "")
        except (ValueError, AttributeError):
            record = {}
            level = next((lv for lv in ("ERROR", "CRITICAL") if f"[{lv}]" in line), "")
        designed = record.get("logger") == "django.request" and record.get("status_code") == 503
        if level in ("ERROR", "CRITICAL") and not designed:
            found.append(line)
    return found


# -- CPU ---------------------------------------------------------------------------------


def _stat(pid):
    """/proc/<pid>/stat from its third field on (the command's name may hold spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


class ProcessTreeCpu:
    """CPU seconds used by a process and its children, read from /proc.

    A process's utime + stime (fields 14 and 15 of /proc/<pid>/stat) cover all its
    threads; its children's are their own, so each live child (gunicorn's workers) is
    added, and cutime + cstime (fields 16 and 17) add the children it has already reaped
    (a worker that died and was replaced). Resolution: one clock tick (1/CLK_TCK s) per
    process and reading.
    """

    def __init__(self, pid):
        self.pid = pid

    def seconds(self):
        fields = _stat(self.pid)
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                child = _stat(entry.name)
            except (OSError, ValueError):
                continue  # gone meanwhile
            if int(child[1]) == self.pid:  # its parent (field 4)
                ticks += int(child[11]) + int(child[12])
        return ticks / CLOCK_TICKS


def database_server_cpu(kind):
    """MariaDB's (or MySQL's) CPU, when the server runs on this machine; else None."""
    if kind != "mysql":
        return None
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if found:
            return ProcessTreeCpu(int(found[0]))
    return None


@dataclass
class CpuWindow:
    shop: float = 0.0
    database: float | None = None


@contextmanager
def cpu_window(shop, database):
    """The CPU seconds the shop (and the database server) used within the block."""
    window = CpuWindow()
    shop_before = shop.seconds()
    database_before = database.seconds() if database else None
    yield window
    window.shop = shop.seconds() - shop_before
    if database:
        window.database = database.seconds() - database_before


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- load ------------------------------------------------------------------------------


def start_wrk(base_url, scenario, seconds, cpus):
    command = [
        shutil.which("wrk") or "wrk",
        "--threads", "1",
        "--connections", str(scenario.connections),
        "--duration", f"{seconds}s",
        "--timeout", f"{scenario.timeout_s}s",
        "--latency",
        "--script", scenario.script,
        "--header", FORWARDED,
    ]  # fmt: skip
    for header in scenario.headers:
        command += ["--header", header]
    command += [base_url + scenario.path, "--", *scenario.script_args]
    return subprocess.Popen(
        pinned(command, cpus),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
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
    socket_errors = {
        kind: summary["errors"][kind] for kind in ("connect", "read", "write", "timeout")
    }
    unexpected = sum(n for status, n in statuses.items() if status not in scenario.accept)
    latency = summary["latency_us"]
    return Result(
        key=scenario.key,
        title=scenario.title,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=sum(socket_errors.values()) + unexpected,
        socket_errors=socket_errors,
        statuses=statuses,
        samples={int(status): body for status, body in summary.get("samples", {}).items()},
        ok_status=scenario.accept[0],
    )


def run_wrk(base_url, scenario, seconds, cpus):
    return finish_wrk(start_wrk(base_url, scenario, seconds, cpus), scenario)


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": median(values), "min": min(values), "max": max(values)}


METRICS = ("rps", "ok_rps", "ratio", "p50_ms", "p99_ms", "max_ms", "cpu_ms", "cpu_ratio")


def summarize(results):
    """One scenario over its rounds: totals, and the median and range of each figure
    (each round's ratios are to the floor of the same round)."""
    statuses, samples = Counter(), {}
    for result in results:
        statuses.update(result.statuses)
        for status, body in result.samples.items():
            samples.setdefault(status, body)
    summary = {
        "key": results[0].key,
        "title": results[0].title,
        "rounds": len(results),
        "requests": sum(r.requests for r in results),
        "errors": sum(r.errors for r in results),
        "socket_errors": dict(
            sum((Counter(r.socket_errors) for r in results), Counter()).most_common()
        ),
        "statuses": dict(sorted(statuses.items())),
        "samples": samples,
        "cpu_note": results[0].cpu_note,
        "orders": sum(r.orders for r in results),
    }
    for metric in METRICS:
        summary[metric] = spread(getattr(r, metric) for r in results)
    summary["db_cpu_ms"] = spread(r.db_cpu_ms for r in results)
    return summary


# -- checks ----------------------------------------------------------------------------


@contextmanager
def stripe_paused(stripe):
    """devstripe answering at once and without its rate limit, for the benchmark's own
    calls (listing charges) and its reconcile runs; as it was afterwards."""
    saved = stripe.configure()
    stripe.configure(latency_ms=0, rate_limit=0, endpoint_rate_limit=0)
    try:
        yield
    finally:
        stripe.configure(
            latency_ms=saved["latency_ms"],
            rate_limit=saved["rate_limit"],
            endpoint_rate_limit=saved["endpoint_rate_limit"],
        )


def stripe_charges(stripe):
    """Every charge devstripe holds, listed as Stripe lists them (newest first, by pages)."""
    with stripe_paused(stripe):
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


def settled_state(env, seconds=180):
    """The buyer's orders once none is in flight: wrk stops without waiting for its
    answers, and the shop still serves the requests it has queued. Settled: every order
    has its payment attempt, none is still waiting on Stripe, and nothing changed over
    the last second."""
    deadline = time.monotonic() + seconds
    previous = None
    while True:
        state = run_data(env, "check")
        in_flight = state["attempts_by_status"].get("started", 0)
        quiet = not in_flight and state["attempts"] == state["orders"] and state == previous
        if quiet or time.monotonic() > deadline:
            return state
        previous = state
        time.sleep(1)


@dataclass
class Answers:
    """What the buyers were answered over a database's ordering runs, and how many
    requests wrk may have left in flight when its runs stopped."""

    paid: int = 0  # 201
    pending: int = 0  # 503, payment pending
    in_flight_at_most: int = 0

    def add(self, result, connections):
        self.paid += result.statuses.get(201, 0)
        self.pending += result.statuses.get(PAYMENT_PENDING, 0)
        self.in_flight_at_most += connections


def check_orders(state, stripe, answers, after_reconcile=False):
    """No order lost or doubled: the buyer's orders, Stripe's charges and PAID agree.

    Every charge succeeded and belongs to one PAID order, every PAID order holds its
    charge, each order has one payment attempt, and every answer the buyers got is an
    order. A PENDING order is allowed only with an attempt of unknown outcome (Stripe
    refused it for its rate limit, or its answer was lost under load: never a failure,
    maybe charged), and only before reconcile_orders has run; after it
    (`after_reconcile`) everything must agree exactly.
    """
    unsettled = set(state.get("unknown_order_ids", []))
    every_charge = stripe_charges(stripe)
    charges = [c for c in every_charge if int(c["metadata"]["order_id"]) not in unsettled]
    succeeded = [charge for charge in charges if charge["status"] == "succeeded"]
    charged_orders = [int(charge["metadata"]["order_id"]) for charge in every_charge]
    by_status = state["by_status"]
    paid, pending = by_status.get("PAID", 0), by_status.get("PENDING", 0)
    other = {s: n for s, n in by_status.items() if s not in ("PAID", "PENDING")}
    problems = []
    if not len(charges) == len(succeeded) == paid:
        problems.append("Stripe's charges and the PAID orders differ in number")
    if set(state["paid_charge_ids"]) != {charge["id"] for charge in charges}:
        problems.append("PAID orders' charge ids are not Stripe's charges")
    if len(set(charged_orders)) != len(charged_orders):
        problems.append("an order was charged twice")
    if set(charged_orders) - unsettled != set(state["paid_order_ids"]):
        problems.append("charges' order ids are not the PAID orders")
    if other:
        problems.append(f"orders neither PAID nor PENDING: {other}")
    if state["attempts"] != state["orders"]:
        problems.append("not one payment attempt per order")
    unknown = state["attempts_by_status"].get("unknown", 0)
    if pending != len(unsettled):
        problems.append(f"{pending - len(unsettled)} orders left PENDING with no lost answer")
    if unsettled and after_reconcile:
        problems.append(f"{len(unsettled)} orders of unknown outcome after reconcile_orders")
    answered = answers.paid + answers.pending
    if not answered <= state["orders"] <= answered + answers.in_flight_at_most:
        problems.append("the answers do not match the orders")
    if paid < answers.paid:
        problems.append("fewer PAID orders than 201 answers")
    line = (
        f"{state['orders']} orders, {len(charges)} Stripe charges ({len(succeeded)} "
        f"succeeded), {paid} PAID, {pending} PENDING ({unknown} attempts of unknown outcome)"
        + (f", {other}" if other else "")
        + f", {state['attempts']} payment attempts; answered {answers.paid} × 201"
        + (f", {answers.pending} × {PAYMENT_PENDING}" if answers.pending else "")
        + f", +{state['orders'] - answered} whose answers wrk did not wait for when its "
        f"runs stopped (at most {answers.in_flight_at_most})"
    )
    return {"ok": not problems, "line": line, "problems": problems}


def reconcile(env, stripe, max_runs=30):
    """`manage.py reconcile_orders --older-than 0` until no order is PENDING, as the
    instances' timer would every 5 minutes. devstripe answers at once (the benchmark's
    time) but keeps its rate limit, so a run that goes past it leaves orders for the next."""
    saved = stripe.configure()
    stripe.configure(latency_ms=0)
    runs = []
    try:
        for _ in range(max_runs):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "manage.py", "reconcile_orders", "--older-than", "0"],
                cwd=ROOT,
                env={**env, "LOG_LEVEL": "WARNING"},
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise BenchError(f"reconcile_orders failed:\n{done.stdout}\n{done.stderr}")
            state = run_data(env, "check")
            runs.append(
                {
                    "seconds": round(time.monotonic() - started, 1),
                    "paid": done.stdout.count("-> PAID"),
                    "still_pending": state["by_status"].get("PENDING", 0),
                }
            )
            if not runs[-1]["still_pending"]:
                break
            # No pause: the next run's start-up (seconds) refills the rate limiter's bucket.
    finally:
        stripe.configure(latency_ms=saved["latency_ms"])
    return runs


def stripe_answers(stripe, since):
    """devstripe's answers to POST /v1/charges since `since` (its log keeps the last
    10,000 requests), by status."""
    with stripe_paused(stripe):
        logged = stripe.requests(path="/v1/charges", method="POST")
    return dict(sorted(Counter(r["status"] for r in logged if r["created"] >= since).items()))


# -- one database ----------------------------------------------------------------------


def bench_database(kind, args, cpus, repetition):
    server_cpus, load_cpus = cpus
    out = OUT / kind
    out.mkdir(parents=True, exist_ok=True)
    database = (
        mysql_database(f"stripedemo_bench_{os.getpid()}")
        if kind == "mysql"
        else sqlite_database(out / "bench.sqlite3")
    )
    load_before = load_average()
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
            # Required with DJANGO_DEBUG off: the shop serves its front end itself here,
            # behind the (pretended) load balancer's HTTPS.
            "FRONTEND_URL": f"https://127.0.0.1:{port}",
            # The buyers are one shopper on one address, far faster than shoppers: the
            # payment limits (orders/throttling.py) never refuse them, yet still read and
            # write their counts on every order, as in production. Per second, so that a
            # count holds the last second's orders (a few dozen, about what a shopper's
            # 10/min and an address's 30/min hold), not the whole run's: a count of
            # thousands made each order pay for the run's length.
            "THROTTLE_PAYMENT_RATE": "1000000/s",
            "THROTTLE_PAYMENT_ADDRESS_RATE": "1000000/s",
            "THROTTLE_PAYMENT_DECLINES": "1000000/hour",
            "THROTTLE_CONFIRM_RATE": "1000000/s",
        }
        for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "DB_CONN_MAX_AGE"):
            env.pop(name, None)  # the defaults of gunicorn.conf.py and settings, unless asked
        if args.workers:
            env["WEB_CONCURRENCY"] = str(args.workers)
        if args.threads:
            env["GUNICORN_THREADS"] = str(args.threads)
        if args.conn_max_age is not None:
            env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
        print(
            f"\n== {kind} (run {repetition}): loading data; load average {load_before}", flush=True
        )
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
            "floor": Scenario("floor", "floor: GET /bench/floor/", "/bench/floor/", (200,), c),
            "catalog": Scenario("catalog", "1. GET /api/product/", "/api/product/", (200,), c),
            "orders": Scenario(
                "orders", "2. GET /api/order/ (500 orders)", "/api/order/", (200,), c, [reader]
            ),
            "orders_page": Scenario(
                "orders_page",
                "2. GET /api/order/?limit=20",
                "/api/order/?limit=20",
                (200,),
                c,
                [reader],
            ),
        }

        def order_scenario(tag, title, connections, accept=(201,)):
            return Scenario(
                tag, title, "/api/order/", accept, connections, [buyer], "bench/lua/order.lua",
                [tag, *order_args], ORDER_TIMEOUT_S,
            )  # fmt: skip

        with gunicorn(env, base_url, server_cpus, out / "gunicorn.log") as server:
            shop_cpu = ProcessTreeCpu(server.pid)
            db_cpu = database_server_cpu(kind)
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
                (304,),
                c,
                [f"If-None-Match: {etag}"],
            )

            print(f"warming up ({args.warmup}s per path)", flush=True)
            for key in ("floor", "catalog", "orders_page"):
                run_wrk(base_url, scenarios[key], args.warmup, load_cpus)
            answers = Answers()
            warm_scenario = order_scenario("warmup", "warm-up", buyers)
            answers.add(run_wrk(base_url, warm_scenario, args.warmup, load_cpus), buyers)
            orders_so_far = settled_state(env)["orders"]

            rounds, checks = {}, []

            def measure(key, result, window=None, units=None, note=""):
                """Keep a result, with the shop's CPU per request (or per `units`) and its
                ratios to the floor of the same round."""
                floor = rounds["floor"][-1] if key != "floor" else result
                if window is not None:
                    count = result.requests if units is None else units
                    if count:
                        result.cpu_ms = window.shop * 1000 / count
                        if window.database is not None:
                            result.db_cpu_ms = window.database * 1000 / count
                result.cpu_note = note
                result.ratio = result.rps / floor.rps if floor.rps else 0.0
                if result.cpu_ms is not None and floor.cpu_ms:
                    result.cpu_ratio = result.cpu_ms / floor.cpu_ms
                rounds.setdefault(key, []).append(result)
                print(format_line(result), flush=True)
                return result

            def read(key, scenario=None):
                scenario = scenario or scenarios[key]
                with cpu_window(shop_cpu, db_cpu) as window:
                    result = run_wrk(base_url, scenario, args.duration, load_cpus)
                return measure(key, result, window)

            def check(name, state, after_reconcile=False):
                result = check_orders(state, stripe, answers, after_reconcile)
                checks.append((name, result))
                print(f"check {name}:", result["line"], flush=True)
                return result

            def buy(key, title, connections, name, seconds):
                """Buyers alone; CPU per order over the run and until the orders it left
                in flight are done, divided by the orders it created."""
                nonlocal orders_so_far
                scenario = order_scenario(f"{key}{number}", title, connections)
                with cpu_window(shop_cpu, db_cpu) as window:
                    result = run_wrk(base_url, scenario, seconds, load_cpus)
                    state = settled_state(env)
                result.orders = state["orders"] - orders_so_far
                orders_so_far = state["orders"]
                answers.add(result, connections)
                measure(key, result, window, units=result.orders, note="per order created")
                check(name, state)

            reads = ["floor"]
            reads += ["catalog", "catalog_304"] if "catalog" in args.only else []
            reads += ["orders", "orders_page"] if "orders" in args.only else []
            for number in range(1, args.rounds + 1):
                # Every scenario once per round, so that the machine's other load falls on
                # all of them alike; figures are the medians over the rounds.
                print(f"-- round {number} of {args.rounds}; load average {load_average()}")
                for key in reads:
                    read(key)

                if "buy" in args.only:
                    # 3. Buyers alone.
                    title = f"3. POST /api/order/ ({buyers} buyers)"
                    buy("buy", title, buyers, f"after 3 (round {number})", args.duration)

                if "mixed" in args.only:
                    # 4. The catalog while buyers wait on Stripe: the buyers start first and
                    # end last, so that the catalog is measured only while orders are in
                    # flight. One CPU window covers both; the orders' CPU is the total less
                    # the catalog's requests at the catalog's CPU per request alone (this
                    # round's scenario 1).
                    margin = max(1, round(args.duration / 10))
                    scenario = order_scenario(
                        f"mixed{number}", "4. POST /api/order/ meanwhile", buyers
                    )
                    under = Scenario(
                        "catalog_under_orders",
                        "4. GET /api/product/ while 3. runs",
                        "/api/product/",
                        (200,),
                        c,
                    )
                    with cpu_window(shop_cpu, db_cpu) as window:
                        buying = start_wrk(
                            base_url, scenario, args.duration + 2 * margin, load_cpus
                        )
                        time.sleep(margin)
                        reading = run_wrk(base_url, under, args.duration, load_cpus)
                        bought = finish_wrk(buying, scenario)
                        state = settled_state(env)
                    measure("catalog_under_orders", reading, note="shared window: see 4. orders")
                    bought.orders = state["orders"] - orders_so_far
                    orders_so_far = state["orders"]
                    answers.add(bought, buyers)
                    catalog_alone = rounds.get("catalog", [None])[-1]
                    if catalog_alone is not None and catalog_alone.cpu_ms is not None:
                        window.shop -= reading.requests * catalog_alone.cpu_ms / 1000
                        note = (
                            f"per order, less {reading.requests} catalog requests × "
                            f"{catalog_alone.cpu_ms:.2f} ms (1. alone)"
                        )
                        window.database = None
                        measure("buy_4", bought, window, units=bought.orders, note=note)
                    else:
                        measure("buy_4", bought)
                    check(f"after 4 (round {number})", state)

                if "crowd" in args.only:
                    # 5. More buyers than one instance has threads (2 workers × 32 by
                    # default): what they get when every thread waits on Stripe. Twice as
                    # long, since each buyer waits in the queue for several orders' time.
                    for crowd in args.crowds:
                        title = f"5. POST /api/order/ ({crowd} buyers)"
                        name = f"after 5, {crowd} (round {number})"
                        buy(f"crowd{crowd}", title, crowd, name, 2 * args.duration)

            rate_limited = None
            if "ratelimit" in args.only and args.stripe_rate_limit:
                rate_limited = bench_rate_limit(
                    args, base_url, stripe, env, order_scenario, answers, orders_so_far,
                    shop_cpu, db_cpu, measure, check, load_cpus,
                )  # fmt: skip

        server_errors = server_error_lines(out / "gunicorn.log")
        # The catalog's p99 while buyers pay over its p99 alone, round by round.
        p99_ratios = [
            under.p99_ms / alone.p99_ms
            for alone, under in zip(
                rounds.get("catalog", []), rounds.get("catalog_under_orders", []), strict=False
            )
        ]
        # CPU per paid order over the floor's CPU per request, round by round.
        cpu_ratios = [r.cpu_ratio for r in rounds.get("buy", []) if r.cpu_ratio is not None]
        return {
            "kind": kind,
            "repetition": repetition,
            "database": info["database"],
            "load_before": load_before,
            "load_after": load_average(),
            "p99_ratios": p99_ratios,
            "cpu_ratios": cpu_ratios,
            "data": {k: v for k, v in data.items() if not k.endswith("_token")},
            "scenarios": {key: summarize(results) for key, results in rounds.items()},
            "rounds": {key: [asdict(r) for r in results] for key, results in rounds.items()},
            "checks": checks,
            "rate_limited": rate_limited,
            "server_errors": server_errors,
        }


def bench_rate_limit(
    args, base_url, stripe, env, order_scenario, answers, orders_so_far, shop_cpu, db_cpu,
    measure, check, load_cpus,
):  # fmt: skip
    """6. The buyers while devstripe refuses what goes past Stripe's rate limit: what they
    are told, and that reconcile_orders then settles every order they were left with."""
    rate = args.stripe_rate_limit
    title = f"6. POST /api/order/ ({args.buyers} buyers), Stripe limiting at {rate:g}/s"
    key = f"ratelimited{rate:g}"  # runs at other rates are not compared with each other
    scenario = order_scenario(key, title, args.buyers, accept=(201, PAYMENT_PENDING))
    stripe.configure(rate_limit=rate, endpoint_rate_limit=rate)
    since = time.time()
    try:
        with cpu_window(shop_cpu, db_cpu) as window:
            result = run_wrk(base_url, scenario, args.duration, load_cpus)
            state = settled_state(env)
        result.orders = state["orders"] - orders_so_far
        answers.add(result, args.buyers)
        measure(key, result, window, units=result.orders, note="per order created")
        before = check("after 6, before reconcile_orders", state)
        stripe_said = stripe_answers(stripe, since)
        pending_before = state["by_status"].get("PENDING", 0)
        runs = reconcile(env, stripe)
        after = check("after 6 and reconcile_orders", run_data(env, "check"), after_reconcile=True)
    finally:
        stripe.configure(rate_limit=0, endpoint_rate_limit=0)
    sample = result.samples.get(PAYMENT_PENDING)
    told = None
    if sample:
        try:
            body = json.loads(sample)
            told = {"error": body.get("error"), "order_status": body["order"]["status"]}
        except (ValueError, KeyError, TypeError):
            told = {"error": sample[:200], "order_status": None}
        if told["order_status"] != "PENDING":
            before["ok"] = False
            before["problems"].append(f"a {PAYMENT_PENDING} answered an order that is not PENDING")
    return {
        "key": key,
        "rate": rate,
        "stripe_answers": stripe_said,
        "pending_before": pending_before,
        "reconcile_runs": runs,
        "told": told,
        "ok": before["ok"] and after["ok"],
    }


# -- reporting -------------------------------------------------------------------------


def format_line(result):
    cpu = f"{result.cpu_ms:6.2f} ms CPU" if result.cpu_ms is not None else " " * 13
    ratio = f" ({result.cpu_ratio:4.1f}×)" if result.cpu_ratio is not None else " " * 8
    return (
        f"{result.title:<44} {result.rps:8.1f} req/s ({result.ratio:5.2f}×)  "
        f"p50 {result.p50_ms:7.1f}  p99 {result.p99_ms:7.1f} ms  {cpu}{ratio}  "
        f"errors {result.errors}  {dict(sorted(result.statuses.items()))}"
    )


def fmt(figure, digits=1, unit=""):
    """A median with its range over the rounds: "12.3 (11.9–13.0)"."""
    if figure is None:
        return "–"
    text = f"{figure['median']:.{digits}f}{unit}"
    if figure["min"] != figure["max"]:
        text += f" ({figure['min']:.{digits}f}–{figure['max']:.{digits}f})"
    return text


def med(summary, metric):
    figure = summary.get(metric) if summary else None
    return figure["median"] if figure else None


def ideal_orders(args, buyers):
    return buyers / (args.stripe_latency_ms / 1000) if args.stripe_latency_ms else None


def headline_figures(run):
    """The figures the targets are stated in, by name: (label, value, unit)."""
    s = run["scenarios"]
    figures = []
    if "buy" in s:
        figures.append(("CPU per paid order (3.)", med(s["buy"], "cpu_ms"), "ms"))
        if run["cpu_ratios"]:
            figures.append(("CPU per paid order ÷ floor request", median(run["cpu_ratios"]), "×"))
        figures.append(("orders/s (3.)", med(s["buy"], "ok_rps"), "/s"))
    if "catalog" in s:
        figures.append(("catalog × floor (req/s)", med(s["catalog"], "ratio"), "×"))
        figures.append(("catalog CPU × floor", med(s["catalog"], "cpu_ratio"), "×"))
    if run["p99_ratios"]:
        figures.append(("catalog p99 while ordering ÷ alone", median(run["p99_ratios"]), "×"))
    return figures


def evaluate(run, args):
    """Each target with its figure and whether it was met, for the scenarios that ran."""
    s = run["scenarios"]
    targets = []
    if "buy" in s and med(s["buy"], "cpu_ms") is not None:
        cpu = s["buy"]["cpu_ms"]
        floor_cpu = med(s["floor"], "cpu_ms")
        ratio = median(run["cpu_ratios"]) if run["cpu_ratios"] else math.inf
        targets.append(
            (
                f"CPU per paid order ≤ {TARGETS['cpu_per_order_vs_floor']:.0f}× one floor "
                f"request's and ≤ {TARGETS['cpu_per_order_ms']:.0f} ms",
                f"{fmt(cpu, 2, ' ms')}; {ratio:.1f}× the floor's {floor_cpu:.2f} ms "
                f"(rounds: {', '.join(f'{r:.1f}×' for r in run['cpu_ratios'])})",
                ratio <= TARGETS["cpu_per_order_vs_floor"]
                and cpu["median"] <= TARGETS["cpu_per_order_ms"],
            )
        )
    ideal = ideal_orders(args, args.buyers)
    if "buy" in s and ideal:
        per_second = med(s["buy"], "ok_rps")
        targets.append(
            (
                f"orders/s ≥ {TARGETS['orders_vs_ideal']:.0%} of {args.buyers} buyers / "
                f"{args.stripe_latency_ms} ms = {ideal:.1f}/s",
                f"{fmt(s['buy']['ok_rps'], 1, '/s')} ({per_second / ideal:.0%})",
                per_second >= TARGETS["orders_vs_ideal"] * ideal,
            )
        )
    if "catalog" in s:
        ratio = med(s["catalog"], "ratio")
        targets.append(
            (
                f"catalog ≥ {TARGETS['catalog_vs_floor']:.1f}× the floor's requests/s",
                f"{fmt(s['catalog']['ratio'], 2, '×')}; CPU "
                f"{fmt(s['catalog']['cpu_ms'], 2, ' ms')} = "
                f"{fmt(s['catalog']['cpu_ratio'], 2, '×')} the floor's",
                ratio >= TARGETS["catalog_vs_floor"],
            )
        )
        conditional = s["catalog_304"]
        targets.append(
            (
                "conditional GET answered 304",
                f"{conditional['statuses'].get(304, 0)} of {conditional['requests']} "
                f"({fmt(conditional['ratio'], 2, '×')} the floor's requests/s)",
                conditional["requests"] > 0 and conditional["errors"] == 0,
            )
        )
    if run["p99_ratios"]:
        p99_ratio = median(run["p99_ratios"])
        rounds = ", ".join(f"{ratio:.1f}×" for ratio in run["p99_ratios"])
        targets.append(
            (
                f"catalog p99 while ordering ≤ {TARGETS['catalog_p99_under_orders']:.0f}× "
                "alone (median of the rounds' ratios)",
                f"{p99_ratio:.1f}× (rounds: {rounds}); p50 "
                f"{med(s['catalog_under_orders'], 'p50_ms'):.1f} vs "
                f"{med(s['catalog'], 'p50_ms'):.1f} ms",
                p99_ratio <= TARGETS["catalog_p99_under_orders"],
            )
        )
    errors = sum(summary["errors"] for summary in s.values())
    targets.append(("zero errors", f"{errors}", errors == 0))
    if run["checks"]:
        failed = [name for name, check in run["checks"] if not check["ok"]]
        targets.append(
            (
                "orders, Stripe charges and PAID orders agree after each ordering scenario",
                f"{len(run['checks']) - len(failed)} of {len(run['checks'])} checks"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
                not failed,
            )
        )
    return targets


def table(run):
    db = any(summary.get("db_cpu_ms") for summary in run["scenarios"].values())
    rows = [
        "| scenario | requests/s | × floor | p50 ms | p99 ms | CPU ms per request | "
        "CPU × floor |" + (" MariaDB CPU ms |" if db else "") + " errors | answers |",
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if db else "") + "---:|---|",
    ]
    for summary in run["scenarios"].values():
        statuses = ", ".join(f"{n} × {status}" for status, n in summary["statuses"].items())
        cpu = fmt(summary["cpu_ms"], 2)
        if summary["cpu_note"]:
            cpu += f" ({summary['cpu_note']})"
        rows.append(
            f"| {summary['title']} | {fmt(summary['rps'])} | {fmt(summary['ratio'], 2)} | "
            f"{fmt(summary['p50_ms'])} | {fmt(summary['p99_ms'])} | {cpu} | "
            f"{fmt(summary['cpu_ratio'], 1)} |"
            + (f" {fmt(summary['db_cpu_ms'], 2)} |" if db else "")
            + f" {summary['errors']} | {statuses} |"
        )
    return rows


def crowd_lines(run, args):
    """What buyers beyond one instance's threads got (scenario 5)."""
    lines = []
    for key, summary in run["scenarios"].items():
        if not key.startswith("crowd") and key not in ("buy",):
            continue
        buyers = int(key.removeprefix("crowd")) if key.startswith("crowd") else args.buyers
        statuses = ", ".join(f"{n} × {status}" for status, n in summary["statuses"].items())
        sockets = {k: v for k, v in summary["socket_errors"].items() if v}
        per_second = med(summary, "ok_rps")
        queue = f"{buyers / per_second:.1f}" if per_second else "–"
        lines.append(
            f"| {buyers} | {fmt(summary['ok_rps'])} | {queue} | {fmt(summary['p50_ms'], 0)} | "
            f"{fmt(summary['p99_ms'], 0)} | {fmt(summary['max_ms'], 0)} | {statuses}"
            + (f"; wrk: {sockets}" if sockets else "")
            + f" | {fmt(summary['cpu_ms'], 2)} |"
        )
    if not lines:
        return []
    return [
        "| buyers | orders/s | buyers ÷ orders/s, s | p50 ms | p99 ms | max ms | answers | "
        "CPU ms per order |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
        *lines,
    ]


def rate_limit_lines(run):
    limited = run["rate_limited"]
    if not limited:
        return []
    summary = run["scenarios"][limited["key"]]
    statuses = ", ".join(f"{n} × {status}" for status, n in summary["statuses"].items())
    runs = limited["reconcile_runs"]
    reconciled = [f"{run['paid']} paid in {run['seconds']} s" for run in runs]
    told = limited["told"]
    lines = [
        f"- Stripe limiting at {limited['rate']:g} requests/s (devstripe `--rate-limit`): "
        f"{fmt(summary['ok_rps'])} orders/s paid at once; the buyers were answered "
        f"{statuses}. Stripe answered POST /v1/charges {limited['stripe_answers']} "
        "(by status; the SDK does not retry a 429 without `Stripe-Should-Retry`).",
    ]
    if told:
        lines.append(
            f"- A refused payment's answer: {PAYMENT_PENDING}, order {told['order_status']}, "
            f'"{told["error"]}".'
        )
    lines.append(
        f"- {limited['pending_before']} orders PENDING after the run; `reconcile_orders "
        f"--older-than 0` ran {len(runs)} time(s) (devstripe answering at once, its limit "
        f"on): {', '.join(reconciled)}; "
        f"{runs[-1]['still_pending'] if runs else '?'} left PENDING."
    )
    return lines


def capacity_line(run, args, workers, threads, server_cpus):
    """One instance's orders/s by its two bounds: threads / Stripe's latency, and the CPUs
    over the CPU per order."""
    cpu = med(run["scenarios"].get("buy"), "cpu_ms")
    if not cpu or not args.stripe_latency_ms:
        return None
    threads_bound = workers * threads / (args.stripe_latency_ms / 1000)
    per_cpu = 1000 / cpu
    return (
        f"- Capacity of one instance from these figures: threads {workers} × {threads} / "
        f"{args.stripe_latency_ms} ms = {threads_bound:.0f} orders/s; CPU 1000 ms / "
        f"{cpu:.1f} ms = {per_cpu:.0f} orders/s per CPU ({per_cpu * server_cpus:.0f} on "
        f"the {server_cpus} CPU(s) the shop had here, less whatever else it serves)."
    )


def compare(first, second):
    """Rows (figure, first, second, relative difference, within ±15 %) for two runs of
    the same database."""
    rows = []
    for key, a in first["scenarios"].items():
        b = second["scenarios"].get(key)
        if not b:
            continue
        for name, metric in (
            (f"{a['title']}: requests/s", "ok_rps"),
            (f"{a['title']}: CPU ms", "cpu_ms"),
        ):
            rows.append(_compare_row(name, med(a, metric), med(b, metric)))
    heads = {label: value for label, value, _ in headline_figures(second)}
    for label, value, _ in headline_figures(first):
        rows.append(_compare_row(label, value, heads.get(label)))
    return [row for row in rows if row]


def _compare_row(name, a, b):
    if a is None or b is None:
        return None
    difference = (b - a) / a if a else (0.0 if b == a else math.inf)
    return (name, a, b, difference, abs(difference) <= AGREEMENT)


def reproducibility_lines(runs_of_kind, label_a="run 1", label_b="run 2"):
    first, second = runs_of_kind[0], runs_of_kind[1]
    rows = compare(first, second)
    agree = [row for row in rows if row[4]]
    lines = [
        f"{label_a[0].upper()}{label_a[1:]} (load average {first['load_before']} → "
        f"{first['load_after']}) against {label_b} (load average {second['load_before']} → "
        f"{second['load_after']}): {len(agree)} of {len(rows)} medians within "
        f"±{AGREEMENT:.0%}.",
        "",
        f"| median | {label_a} | {label_b} | difference | within ±{AGREEMENT:.0%} |",
        "|---|---:|---:|---:|---|",
    ]
    for name, a, b, difference, ok in rows:
        lines.append(
            f"| {name} | {a:.2f} | {b:.2f} | {difference:+.0%} | {'yes' if ok else '**no**'} |"
        )
    return lines, len(agree) == len(rows)


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


def cpu_model():
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )


def machine():
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {memory_kib / 2**20:.0f} GiB, "
        f"{platform.system()} {platform.release()}"
    )


def gunicorn_settings(args):
    """(worker class, workers, threads) as gunicorn.conf.py gives them with this run's
    environment."""
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
    return worker_class, int(workers), int(threads)


def report_lines(runs, args, cpus):
    """Per database: the first run's tables and targets, then how the runs compare."""
    server_cpus, _ = cpus
    worker_class, workers, threads = gunicorn_settings(args)
    lines = []
    for kind in dict.fromkeys(run["kind"] for run in runs):
        of_kind = [run for run in runs if run["kind"] == kind]
        run = of_kind[0]
        lines += [f"## {run['database']}", ""]
        lines += table(run)
        columns = " | ".join(f"run {r['repetition']}" for r in of_kind)
        lines += ["", f"| target | {columns} |"]
        lines += ["|---|" + "---|" * len(of_kind)]
        evaluations = [evaluate(r, args) for r in of_kind]
        for index, (target, _, _) in enumerate(evaluations[0]):
            cells = []
            for evaluation in evaluations:
                if index < len(evaluation):
                    _, measured, met = evaluation[index]
                    cells.append(f"{measured}: {'met' if met else '**missed**'}")
            lines.append(f"| {target} | {' | '.join(cells)} |")
        lines.append("")
        crowd = crowd_lines(run, args)
        if crowd:
            lines += [
                f"Buyers beyond the instance's {workers} × {threads} threads (run 1; wrk "
                f"gives up on an answer after {ORDER_TIMEOUT_S} s):",
                "",
                *crowd,
                "",
            ]
        lines += rate_limit_lines(run)
        shop_cpus = len(server_cpus) if server_cpus else os.cpu_count()
        capacity = capacity_line(run, args, workers, threads, shop_cpus)
        if capacity:
            lines.append(capacity)
        for r in of_kind:
            failed = [(name, check) for name, check in r["checks"] if not check["ok"]]
            last = r["checks"][-1] if r["checks"] else None
            if last:
                lines.append(f"- Run {r['repetition']}, last check ({last[0]}): {last[1]['line']}.")
            for name, check in failed:
                lines.append(f"- Run {r['repetition']}, check {name} FAILED: {check['problems']}.")
            lines.append(
                f"- Run {r['repetition']}: load average {r['load_before']} before, "
                f"{r['load_after']} after; server errors logged: {len(r['server_errors'])}."
            )
        lines.append("")
        if len(of_kind) > 1:
            repro, _ = reproducibility_lines(of_kind)
            lines += [f"### {run['database']}: run 1 against run 2", "", *repro, ""]
    return lines


def write_results(runs, args, command, started, loads, cpus):
    notes = ""
    if RESULTS.exists() and NOTES_MARKER in RESULTS.read_text():
        notes = RESULTS.read_text().split(NOTES_MARKER, 1)[1]
    server_cpus, load_cpus = cpus
    worker_class, workers, threads = gunicorn_settings(args)
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (see the README's Performance section); the notes at the",
        "end are by hand. What a request costs is the CPU the shop's processes spent on it;",
        "speeds are also given as ratios to the floor measured in the same round, since",
        "they depend on the machine and on what else it runs.",
        "",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, `{command}`",
        f"- Machine: {machine()}; load average (1, 5, 15 min) before {loads[0]}, after {loads[1]}",
        f"- Versions: {versions()}",
        f"- Server: gunicorn as the Procfile starts it ({worker_class}, {workers} workers × "
        f"{threads} threads), DJANGO_DEBUG=false, log level INFO"
        + (f", DB_CONN_MAX_AGE={args.conn_max_age}" if args.conn_max_age is not None else ""),
        "- CPUs: "
        + (
            f"the shop on CPU {','.join(map(str, server_cpus))}; wrk and devstripe on CPU "
            f"{','.join(map(str, load_cpus))} (taskset); the database server unpinned"
            if server_cpus
            else "not pinned"
        ),
        f"- Load: wrk, one thread, {args.connections} connections for the reads, "
        f"{args.buyers} for the buyers (5.: {', '.join(map(str, args.crowds))}, for twice "
        f"as long); devstripe "
        f"answering after {args.stripe_latency_ms} ms; after a {args.warmup} s warm-up, "
        f"{args.rounds} rounds of every scenario in turn, {args.duration} s each; scenario 6 "
        f"once per run; the whole run {args.repeat} time(s) per database",
        "- Figures: the median over the rounds, (min–max) when they differ. × floor: the "
        "scenario's requests/s over the floor's in the same round. Errors are failed requests "
        "and answers with another status than the expected one",
        "- CPU per request: utime + stime of the gunicorn master and its workers (all "
        "threads) from /proc/<pid>/stat, read before and after each scenario, divided by its "
        "requests. Orders: by the orders created, the window closing once the orders left in "
        "flight when wrk stopped are done. Scenario 4 runs the catalog and the buyers at "
        "once: the orders' CPU is the window's total less the catalog's requests × the "
        "catalog's CPU per request alone in the same round. CPU × floor: over the floor's CPU "
        "per request in the same round. MariaDB's own CPU (when it runs on this machine, "
        "shared with whatever else uses it) is given apart, never subtracted",
        "",
    ]
    lines += report_lines(runs, args, cpus)
    lines += [NOTES_MARKER]
    RESULTS.write_text("\n".join(lines) + (notes if notes else "\n"))


def save_json(runs, args, started):
    """bench/out/run-<time>.json and bench/out/latest.json, for comparing runs later."""
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {
        "started": started.isoformat(),
        "cpu_model": cpu_model(),
        "args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
        "runs": runs,
    }
    text = json.dumps(payload, indent=1, default=str)
    (OUT / f"run-{started:%Y%m%d-%H%M%S}.json").write_text(text)
    previous = None
    latest = OUT / "latest.json"
    if latest.exists():
        try:
            previous = json.loads(latest.read_text())
        except ValueError:
            previous = None
    latest.write_text(text)
    return previous


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="seconds, SQLite, for CI")
    parser.add_argument("--db", choices=["sqlite", "mysql", "both"])
    parser.add_argument("--duration", type=int, help="seconds per scenario and round (default 10)")
    parser.add_argument("--rounds", type=int, help="every scenario this often (default 3)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per path (default 3)")
    parser.add_argument(
        "--repeat", type=int, help="the whole run this often per database (default 2; smoke 1)"
    )
    parser.add_argument("--stripe-latency-ms", type=int, default=300)
    parser.add_argument(
        "--stripe-rate-limit",
        type=float,
        help="requests/s devstripe allows in scenario 6 (default 25, Stripe's test mode; "
        "smoke 5, so that any machine goes past it; 0 skips it)",
    )
    parser.add_argument("--connections", type=int, default=10, help="for the reads")
    parser.add_argument("--buyers", type=int, default=20, help="concurrent POST /api/order/")
    parser.add_argument(
        "--crowds", default="100,300", help="buyer counts for scenario 5 (default 100,300)"
    )
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: gunicorn.conf.py)")
    parser.add_argument("--conn-max-age", type=int, help="DB_CONN_MAX_AGE (default: settings)")
    parser.add_argument(
        "--only",
        default="catalog,orders,buy,mixed,crowd,ratelimit",
        help="scenario groups to run (the floor always runs): catalog (1.), orders (2.), "
        "buy (3.), mixed (4.), crowd (5.), ratelimit (6.)",
    )
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="no taskset")
    parser.add_argument("--no-write", dest="write", action="store_false", help="no RESULTS.md")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    args.db = args.db or ("sqlite" if args.smoke else "both")
    args.duration = args.duration or (2 if args.smoke else 10)
    args.rounds = args.rounds or (1 if args.smoke else 3)
    args.warmup = args.warmup or (1 if args.smoke else 3)
    args.repeat = args.repeat or (1 if args.smoke else 2)
    if args.stripe_rate_limit is None:
        args.stripe_rate_limit = 5 if args.smoke else 25
    if args.smoke and args.crowds == "100,300":
        args.crowds = "100"  # seconds, not minutes: one crowd is enough to prove the path
    args.crowds = [int(n) for n in args.crowds.split(",") if n]
    if args.smoke:
        args.write = False
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/bootstrap --dev")

    cpus = cpu_plan(args.pin)
    started = datetime.now(UTC)
    load_before = load_average()
    print(
        f"bench: {cpu_model()}; load average {load_before}; server CPUs {cpus[0]}, "
        f"load CPUs {cpus[1]}"
    )
    runs = []
    kinds = ("sqlite", "mysql") if args.db == "both" else (args.db,)
    try:
        for repetition in range(1, args.repeat + 1):
            for kind in kinds:
                runs.append(bench_database(kind, args, cpus, repetition))
    except BenchError as error:
        raise SystemExit(f"bench: {error}") from None
    load_after = load_average()

    failed = False
    for run in runs:
        print(f"\n== {run['database']}, run {run['repetition']}")
        print("\n".join(table(run)))
        for target, measured, met in evaluate(run, args):
            print(f"{'met    ' if met else 'MISSED '} {target}: {measured}")
        for line in rate_limit_lines(run):
            print(line)
        problems = [p for _, check in run["checks"] for p in check["problems"]]
        errors = sum(summary["errors"] for summary in run["scenarios"].values())
        empty = [key for key, summary in run["scenarios"].items() if summary["requests"] == 0]
        if problems or errors or empty or run["server_errors"]:
            failed = True
            print(
                f"FAILED: {errors} errors, empty scenarios {empty}, check problems "
                f"{problems}, {len(run['server_errors'])} server errors"
            )
            for line in run["server_errors"][:5]:
                print("  ", line[:300])
    for kind in kinds:
        of_kind = [run for run in runs if run["kind"] == kind]
        if len(of_kind) > 1:
            lines, agree = reproducibility_lines(of_kind)
            print(f"\n== {of_kind[0]['database']}: run 1 against run 2")
            print("\n".join(lines))
    previous = save_json(runs, args, started)
    if args.repeat == 1 and previous:
        # One run: set against the previous run's JSON in bench/out, when it had the same
        # database (a comparison, not a check: the previous run may have had other options).
        for run in runs:
            earlier = [r for r in previous["runs"] if r["kind"] == run["kind"]]
            if earlier:
                lines, _ = reproducibility_lines(
                    [earlier[0], run],
                    label_a=f"the previous run ({previous['started'][:16]})",
                    label_b="this run",
                )
                print(f"\n== {run['database']}: the previous run in bench/out against this one")
                print("\n".join(lines))
    if args.write:
        command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        write_results(runs, args, command.strip(), started, (load_before, load_after), cpus)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
