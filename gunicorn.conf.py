"""gunicorn settings for production (Procfile) and the benchmark, from the environment.

Worker class: gthread. Most of an order request is spent waiting on Stripe (hundreds
of milliseconds); a sync worker would sit blocked for all of it, and with a handful of
sync workers a few slow payments would stall the catalog for everyone. gthread keeps
a pool of threads per worker process, so a thread waiting on Stripe leaves the others
serving. (gevent would also work for the network waits, but mysqlclient is a C
driver that blocks the whole event loop on every query.)

Each thread may hold a database connection (CONN_MAX_AGE), so one instance can open up
to WEB_CONCURRENCY x GUNICORN_THREADS connections: keep that, times the number of
instances, under the database's max_connections (README, "Scaling out").
"""

import multiprocessing
import os

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

# Loopback by default: on Elastic Beanstalk nginx is the only client. GUNICORN_BIND=0.0.0.0
# to listen on every interface (a container, a benchmark from another host).
bind = f"{os.environ.get('GUNICORN_BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# WEB_CONCURRENCY is the conventional name for the number of worker processes.
# Defaults from the load benchmark (bench/RESULTS.md), with 20 shoppers paying (Stripe
# answering in 300 ms) while the catalog is read as fast as one CPU allows:
# - threads: a gthread worker keeps accepting connections while all its threads wait on
#   Stripe, and the kernel does not spread connections evenly, so every worker needs
#   more threads than there may be payments in flight. The catalog's p50 while paying
#   (3-4 ms alone): 720-760 ms with 8 threads per worker, 17-118 ms with 16, 4-17 ms
#   with 32.
# - workers: one per CPU (at most 4). In short A/B runs 8 × 32 had a shorter catalog
#   tail while paying than 2 × 32 (p99 3-5× its p99 alone, against 5-12×; the GIL is
#   shared by the threads of a process), but over full runs the two are within this
#   machine's noise, and 2 × 32 keeps memory and database connections low on a
#   t3.small: catalog 74-88 % of the floor, 38-60 orders/s.
# Threads start only when that many requests are in flight at once, so the database
# connections they keep follow the busiest moment; workers × threads is their ceiling.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count(), 4)))
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Longer than a Stripe call with its retries (STRIPE_TIMEOUT × (1 + retries)), so a slow
# payment is answered rather than killed half-way.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "90"))
graceful_timeout = 30
# Idle keep-alive connections stay open longer than nginx's (and the load balancer's)
# 60 s: if gunicorn closed first, a request nginx sends down a connection gunicorn is
# closing at that moment would fail as a 502.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# The app logs one line per request itself (with its request id); gunicorn's access log
# would say it twice.
accesslog = None


class LoggerWithoutAccessLog(Logger):
    """gunicorn's logger, minus its access log.

    With a logconfig_dict (below) gunicorn counts its access log as on whatever
    `accesslog` says, and gathers each request's atoms (headers, times, sizes: about a
    tenth of the benchmark floor's CPU, profiled for issue 13) for a logger that then
    writes nothing: "gunicorn.access" has no handler and does not propagate. The app's
    own line (stripedemo.middleware.RequestIdMiddleware) is the access log.
    """

    access_log_enabled = False

    def access(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        return


logger_class = LoggerWithoutAccessLog
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's own lines (workers booting, timeouts, "Invalid request from ip=…: <the
# request line>") as the app's: one JSON object per line (stripedemo/logging.py), on
# stderr, so a request line a client wrote stays inside the "message" string. Not
# propagated: the app's root handler would write them a second time.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "stripedemo.logging.JsonLineFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "propagate": False}},
}
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path per user
# (~/.gunicorn/gunicorn.ctl). The shop has no use for it (Elastic Beanstalk supervises
# the process), and several gunicorns on one machine (tests, benchmarks) would fight
# over that path: off unless GUNICORN_CONTROL_SOCKET names a path for it.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
