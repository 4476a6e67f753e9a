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

# Loopback by default: on Elastic Beanstalk nginx is the only client. GUNICORN_BIND=0.0.0.0
# to listen on every interface (a container, a benchmark from another host).
bind = f"{os.environ.get('GUNICORN_BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# WEB_CONCURRENCY is the conventional name for the number of worker processes.
# Defaults from the load benchmark (bench/RESULTS.md): one process per CPU, each with
# enough threads for every request that may be waiting on Stripe at once. A gthread
# worker keeps accepting connections while all its threads wait, and the kernel does
# not spread connections evenly, so requests queue behind Stripe in a full worker: with
# 4 × 8 or 3 × 8 threads the catalog's p50 went to 700+ ms while 20 shoppers paid; with
# 2 × 32 it stayed near its p50 alone, at 35-39 orders/s (5 × 16: 33; 2 × 16: 19-32).
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
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path per user
# (~/.gunicorn/gunicorn.ctl). The shop has no use for it (Elastic Beanstalk supervises
# the process), and several gunicorns on one machine (tests, benchmarks) would fight
# over that path: off unless GUNICORN_CONTROL_SOCKET names a path for it.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
