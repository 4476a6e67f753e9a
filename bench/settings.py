"""The shop's own settings, plus the benchmark's floor route (bench/urls.py).

Nothing else changes: the same middleware, database settings and logging as production,
so that the floor measures what the framework costs before any of the shop's own work.
"""

from stripedemo.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
