"""One reconcile_orders at a time across instances: the database lease (orders.leases).

Every instance runs reconcile_orders from its own timer (tests/deploy/
test_reconcile_schedule.py); the lease in the database lets one of them do the work.
"""

import socket
import subprocess
import sys
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from orders import leases
from orders.models import JobLease, Order, PaymentAttempt
from tests.servers import ROOT, shop_environment

BUSY = "reconcile_orders: another run holds the lease; nothing done."


def holder_of(name):
    return JobLease.objects.filter(name=name).values_list("holder", flat=True).first()


def hold_elsewhere(name, *, expires_in):
    """The lease as another instance's run left it (a negative expires_in: run out)."""
    JobLease.objects.update_or_create(
        name=name,
        defaults={
            "holder": "ip-10-0-1-23:4242:0123456789abcdef",
            "expires": timezone.now() + timedelta(seconds=expires_in),
        },
    )


# -- the lease ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_free_lease_is_taken_and_released_on_exit():
    with leases.exclusive("job", seconds=60) as held:
        assert held is True
        lease = JobLease.objects.get(name="job")
        assert lease.holder.startswith(f"{socket.gethostname()}:")
        expected = timezone.now() + timedelta(seconds=60)
        assert abs((lease.expires - expected).total_seconds()) < 5

    lease.refresh_from_db()
    assert (lease.holder, lease.expires) == ("", None)
    with leases.exclusive("job", seconds=60) as held_again:
        assert held_again is True


@pytest.mark.django_db
def test_a_second_holder_gets_false_while_the_first_holds_it():
    with leases.exclusive("job", seconds=60) as first:
        with leases.exclusive("job", seconds=60) as second:
            assert (first, second) == (True, False)
            first_holder = holder_of("job")
        # The second one, not holding it, released nothing.
        assert holder_of("job") == first_holder
        with leases.exclusive("another job", seconds=60) as other:
            assert other is True  # leases are per name
    assert holder_of("job") == ""


@pytest.mark.django_db
def test_a_lease_held_elsewhere_and_still_running_is_not_taken():
    hold_elsewhere("job", expires_in=300)

    with leases.exclusive("job", seconds=60) as held:
        assert held is False

    assert holder_of("job") == "ip-10-0-1-23:4242:0123456789abcdef"


@pytest.mark.django_db
def test_a_holder_that_died_does_not_block_once_its_lease_ran_out():
    hold_elsewhere("job", expires_in=-1)

    with leases.exclusive("job", seconds=60) as held:
        assert held is True
        assert holder_of("job").startswith(f"{socket.gethostname()}:")


@pytest.mark.django_db
def test_release_frees_only_our_own_lease():
    """A run that outlived its lease was taken over: it leaves the new holder's lease."""
    with leases.exclusive("job", seconds=60) as held:
        assert held
        hold_elsewhere("job", expires_in=300)  # ours ran out; another instance took it
    assert holder_of("job") == "ip-10-0-1-23:4242:0123456789abcdef"


@pytest.mark.django_db
def test_the_lease_is_released_when_the_run_fails():
    with pytest.raises(LookupError), leases.exclusive("job", seconds=60) as held:
        assert held
        raise LookupError("the run failed")
    assert holder_of("job") == ""


@pytest.mark.django_db
def test_a_lease_is_not_taken_inside_a_transaction():
    """Others would not see it until commit, and the run would hold the transaction."""
    with pytest.raises(RuntimeError), transaction.atomic():
        with leases.exclusive("job", seconds=60):
            pytest.fail("entered")


def test_a_lease_lasts_at_least_a_second():
    with pytest.raises(ValueError), leases.exclusive("job", seconds=0):
        pytest.fail("entered")


def test_holders_are_never_the_same_and_fit_the_column():
    holders = {leases.new_holder() for _ in range(100)}
    assert len(holders) == 100
    assert all(len(h) <= JobLease._meta.get_field("holder").max_length for h in holders)


@pytest.mark.django_db(transaction=True)
def test_of_many_threads_racing_for_a_new_lease_exactly_one_gets_it():
    """Each thread has its own database connection, as separate processes would."""
    racers = 8
    start, done = threading.Barrier(racers), threading.Barrier(racers)
    results, errors = [], []

    def race():
        try:
            start.wait(timeout=20)
            with leases.exclusive("race", seconds=60) as held:
                results.append(held)
                done.wait(timeout=20)  # the winner holds it until every racer has tried
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [False] * (racers - 1) + [True]
    assert JobLease.objects.filter(name="race").count() == 1
    assert holder_of("race") == ""


# -- reconcile_orders with the lease (needs the lease wired into the command) -------


@pytest.fixture
def order_left_pending(user, product, devstripe):
    """A card payment whose answer from Stripe was lost (the shop died waiting): the
    order is PENDING and its attempt's outcome unknown, so reconcile_orders asks Stripe.
    Made directly, so these tests depend on no payment flow's details."""
    order = Order.objects.create(
        user=user, product=product, quantity=1, amount=1999, currency="usd"
    )
    PaymentAttempt.objects.create(
        order=order,
        number=1,
        kind=PaymentAttempt.Kind.CHARGE,
        idempotency_key=f"order-{order.pk}-charge-1-lease-test",
        payment_source="tok_visa",
        status=PaymentAttempt.Status.UNKNOWN,
    )
    return order


def reconcile():
    out = StringIO()
    call_command("reconcile_orders", "--older-than=0", stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_with_the_lease_held_elsewhere_reconcile_changes_nothing_and_says_so(
    order_left_pending, devstripe
):
    hold_elsewhere("reconcile_orders", expires_in=300)

    output = reconcile()

    assert BUSY in output
    unchanged = Order.objects.get(pk=order_left_pending.pk)
    assert (unchanged.status, unchanged.updated) == (
        Order.Status.PENDING,
        order_left_pending.updated,
    )
    assert devstripe.requests() == []  # Stripe was not asked
    assert holder_of("reconcile_orders") == "ip-10-0-1-23:4242:0123456789abcdef"


@pytest.mark.django_db
def test_reconcile_takes_over_the_lease_of_a_run_that_died(order_left_pending, devstripe):
    hold_elsewhere("reconcile_orders", expires_in=-1)

    output = reconcile()

    assert BUSY not in output
    order_left_pending.refresh_from_db()
    assert order_left_pending.status == Order.Status.PAID  # the run asked Stripe
    assert holder_of("reconcile_orders") == ""  # released after the run


@pytest.mark.django_db(transaction=True)
def test_two_reconcile_runs_started_at_once_one_runs_the_other_stands_down(
    order_left_pending, devstripe
):
    """Two instances' timers fire together: two `manage.py reconcile_orders` processes
    on the one database. Stripe answers slowly, so the runs overlap."""
    devstripe.configure(latency_ms=1500)
    command = [sys.executable, "manage.py", "reconcile_orders", "--older-than=0"]
    environment = shop_environment(devstripe)
    runs = [
        subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        finished = [run.communicate(timeout=60) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert [run.returncode for run in runs] == [0, 0], finished
    outputs = [stdout.decode() + stderr.decode() for stdout, stderr in finished]

    stood_down = [output for output in outputs if BUSY in output]
    assert len(stood_down) == 1, outputs
    # The attempt was sent to Stripe once: by the one run.
    assert len(devstripe.requests(path="/v1/charges", method="POST")) == 1
    order_left_pending.refresh_from_db()
    assert order_left_pending.status == Order.Status.PAID
    assert holder_of("reconcile_orders") == ""
