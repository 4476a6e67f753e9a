"""One run at a time of a job, across processes and instances: a lease in the database.

Every instance of the Elastic Beanstalk environment runs reconcile_orders from its own
systemd timer (deploy/systemd/), so the instances must agree on who runs. They share
nothing but the database, so the agreement is a row there (`JobLease`): a process holds
the job while the row names it as holder and its `expires` is still ahead.

The lease is taken with one conditional UPDATE (`… WHERE expires IS NULL OR expires <
now`), which SQLite, MySQL/MariaDB and PostgreSQL all apply atomically to the row: of
two processes racing, exactly one sees "1 row updated". It is committed at once, never
held in an open transaction for the run: the run talks to Stripe for minutes maybe, and
a transaction (with its row lock) held that long would block the others instead of
telling them "busy", and would hide the lease from them until it committed.

A holder that dies (killed by its timeout, the instance terminated) cannot release the
lease; it runs out at `expires` and the next run takes it over. So `seconds` must be
longer than a run may last: systemd's TimeoutStartSec for the scheduled run.

Times are the application servers' clocks (`timezone.now()`): EC2 instances keep theirs
within milliseconds of each other (Amazon Time Sync), negligible against a lease of
minutes, and it works the same on every database backend.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import JobLease

log = logging.getLogger(__name__)

# JobLease.holder's max_length.
_HOLDER_LENGTH = 255


def new_holder() -> str:
    """A name for this holder that no other process anywhere will use.

    hostname and pid tell an operator which instance and process holds the lease (in
    /admin/ or the database); the random part keeps two holders in one process (or a
    reused pid) apart, since release is "only if still mine".
    """
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
    return holder[-_HOLDER_LENGTH:]


@contextmanager
def exclusive(name: str, *, seconds: int) -> Iterator[bool]:
    """Yields True when this process now holds the lease `name`, False when another
    holder's lease is still running.

    Use it outside any transaction (a management command is): the lease is committed as
    soon as it is taken, so the other instances see it, and the block runs with no
    transaction open. Called inside `transaction.atomic()` it raises RuntimeError rather
    than take a lease nobody else can see.

    On leaving the block the lease is released, if it is still ours: a run that outlived
    its lease may have been taken over, and must not free the new holder's lease. When
    the block yields False nothing is taken and nothing is released.
    """
    if seconds <= 0:
        raise ValueError(f"a lease must last at least one second, not {seconds}")
    holder = new_holder()
    held = _take(name, holder, seconds)
    if held:
        log.info("lease taken", extra={"lease": name, "holder": holder, "seconds": seconds})
    else:
        log.info("lease held by another process: not taken", extra={"lease": name})
    try:
        yield held
    finally:
        if held:
            _release(name, holder)


def _take(name: str, holder: str, seconds: int) -> bool:
    """Make the lease ours if it is free or run out; True when it now is.

    The row is created first (once per job, ever): an UPDATE of a missing row would
    take nothing. Two processes creating it at once both end up with the one row:
    get_or_create catches the loser's IntegrityError on the unique name and reads the
    winner's row. Each statement is its own short transaction (`durable`: committed
    when the block ends, and refused inside a caller's transaction).
    """
    with transaction.atomic(durable=True):
        JobLease.objects.get_or_create(name=name)
    now = timezone.now()
    with transaction.atomic(durable=True):
        taken = (
            JobLease.objects.filter(name=name)
            .filter(Q(expires__isnull=True) | Q(expires__lt=now))
            .update(holder=holder, expires=now + timedelta(seconds=seconds))
        )
    return taken == 1


def _release(name: str, holder: str) -> None:
    """Free the lease if `holder` still holds it; leave another holder's alone.

    A failure here (the database went away) is logged, not raised: it must not replace
    the run's own outcome or exception, and the lease runs out by itself at `expires`.
    """
    try:
        with transaction.atomic(durable=True):
            freed = JobLease.objects.filter(name=name, holder=holder).update(
                holder="", expires=None
            )
    except DatabaseError:
        log.warning(
            "lease not released: it runs out by itself", extra={"lease": name}, exc_info=True
        )
        return
    if not freed:
        log.warning(
            "lease ran out during the run and was taken over: left as it is",
            extra={"lease": name},
        )
