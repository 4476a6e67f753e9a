"""Issue 15: a receipt for every paid order, emailed exactly once (orders/receipts.py).

The shop runs in process and pays at devstripe; mail goes to Django's locmem backend
(`mailoutbox`). Receipts are sent by a background thread once the payment has committed,
so the tests use committed transactions (`transaction=True`) and wait for that thread.
"""

import smtplib
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connections
from django.template.defaultfilters import date as format_date
from django.test import override_settings
from django.utils import timezone

from orders import payments, receipts
from orders.models import Order
from stripedemo import checks
from tests.helpers import charges_at
from tests.orders.attempt_helpers import confirm, place, reconcile, while_stripe_fails
from tests.orders.stripe_events import deliver
from tests.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

THREE_D_SECURE = "pm_card_authenticationRequired"  # 4000 0027 6000 3184


class RefusingMailServer:
    """A mail backend whose server refuses every message, as an SMTP outage would."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


REFUSING = f"{__name__}.RefusingMailServer"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def receipts_settled():
    """Wait until the background threads have dealt with every receipt handed to them."""
    assert receipts.wait_for_background_sends(timeout=30)


def buy(shopper_api, product, **payment):
    response = place(shopper_api, product, **payment)
    receipts_settled()
    return response


def paid(response):
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["order"]["id"])
    assert order.status == "PAID"
    return order


@pytest.fixture
def process_dies_before_sending(monkeypatch):
    """The payment commits, and the process dies before its thread sends the receipt."""
    monkeypatch.setattr(receipts, "_hand_to_background", lambda order_id, claimed_until: None)


def claim_runs_out(order):
    """Time passes beyond the claim's lease (as after a crash)."""
    Order.objects.filter(pk=order.pk).update(
        receipt_claimed_until=timezone.now() - timedelta(seconds=1)
    )


# -- what a receipt says ----------------------------------------------------------------


def test_a_paid_token_order_gets_one_receipt_with_the_order_amount_date_card_and_stripes_page(
    shopper_api, product, user, devstripe, mailoutbox
):
    order = paid(buy(shopper_api, product, token="tok_visa"))

    [mail] = mailoutbox
    [charge] = charges_at(devstripe)
    assert mail.to == [user.email]
    assert mail.subject == f"Your receipt for order {order.pk}"
    assert f"Order:        {order.pk}\n" in mail.body
    assert "Item:         1 × Idempotent T-shirt\n" in mail.body
    assert "Amount paid:  19.99 USD\n" in mail.body
    assert f"Date:         {format_date(order.paid_at, 'j F Y, H:i')} UTC\n" in mail.body
    assert "Paid with:    Visa ending in 4242\n" in mail.body
    assert charge["receipt_url"].endswith(f"/receipts/payment/{charge['id']}")
    assert f"Stripe's receipt for this payment: {charge['receipt_url']}\n" in mail.body
    assert mail.body.startswith("Hello Sam,\n")
    assert (order.card_brand, order.card_last4, order.receipt_url) == (
        "visa",
        "4242",
        charge["receipt_url"],
    )
    assert order.receipt_sent_at is not None
    assert order.receipt_claimed_until is None


def test_the_order_shows_its_card_and_stripes_receipt_page(shopper_api, product, devstripe):
    answer = buy(shopper_api, product, token="tok_visa").json()["order"]
    [charge] = charges_at(devstripe)

    read_later = shopper_api.get(f"/api/order/{answer['id']}/").json()

    for order in (answer, read_later):
        assert (order["card_brand"], order["card_last4"]) == ("visa", "4242")
        assert order["receipt_url"] == charge["receipt_url"]


def test_a_payment_intents_card_shows_once_its_receipt_has_read_it(shopper_api, product, devstripe):
    answer = buy(shopper_api, product, payment_method="pm_card_visa").json()["order"]

    read_later = shopper_api.get(f"/api/order/{answer['id']}/").json()

    assert (answer["card_brand"], answer["card_last4"], answer["receipt_url"]) == ("", "", "")
    assert (read_later["card_brand"], read_later["card_last4"]) == ("visa", "4242")
    assert read_later["receipt_url"]


def test_the_card_of_a_token_charge_costs_no_request_to_stripe(shopper_api, product, devstripe):
    buy(shopper_api, product, token="tok_visa")

    assert devstripe.requests(path="/v1/charges/*", method="GET") == []


def test_a_payment_intent_paid_at_once_reads_its_card_from_stripe_for_the_receipt(
    shopper_api, product, devstripe, mailoutbox
):
    """The confirmation's answer names the charge only: the receipt looks it up."""
    order = paid(buy(shopper_api, product, payment_method="pm_card_mastercard"))

    [mail] = mailoutbox
    [charge] = charges_at(devstripe)
    assert "Paid with:    Mastercard ending in 4444\n" in mail.body
    assert charge["receipt_url"] in mail.body
    order.refresh_from_db()
    assert (order.card_brand, order.card_last4) == ("mastercard", "4444")
    assert [r["path"] for r in devstripe.requests(path="/v1/charges/*", method="GET")] == [
        f"/v1/charges/{charge['id']}"
    ]


def test_an_order_paid_after_3d_secure_gets_one_receipt(
    shopper_api, product, devstripe, mailoutbox
):
    response = buy(shopper_api, product, payment_method=THREE_D_SECURE)
    assert response.status_code == 202
    assert mailoutbox == []
    order_id = response.json()["order"]["id"]
    devstripe.authenticate(Order.objects.get().stripe_payment_intent_id, succeed=True)

    confirmed = confirm(shopper_api, order_id)
    receipts_settled()
    confirm(shopper_api, order_id)
    reconcile()

    assert confirmed.json()["order"]["status"] == "PAID"
    [mail] = mailoutbox
    assert "Paid with:    Visa ending in 3184\n" in mail.body
    # The PaymentIntent was read with its charge expanded: no lookup of the charge.
    assert devstripe.requests(path="/v1/charges/*", method="GET") == []


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1999, "usd", "19.99 USD"),
        (99_999_999, "usd", "999,999.99 USD"),
        (500, "jpy", "500 JPY"),
        (1250, "kwd", "1.250 KWD"),
        (500, "isk", "5.00 ISK"),
    ],
)
def test_amounts_are_shown_with_the_currencys_own_decimals(amount, currency, shown):
    assert receipts.format_amount(amount, currency) == shown


def test_a_receipt_in_yen_shows_whole_yen(shopper_api, make_product, devstripe, mailoutbox):
    mug = make_product(name="Tea & <Mug>", price="500", currency="jpy")

    paid(buy(shopper_api, mug, token="tok_visa"))

    [mail] = mailoutbox
    assert "Amount paid:  500 JPY\n" in mail.body
    assert "Item:         1 × Tea & <Mug>\n" in mail.body  # plain text: nothing escaped


# -- exactly once -----------------------------------------------------------------------


def test_webhooks_delivered_twice_reconcile_and_the_answer_make_one_receipt(
    shopper_api, api, product, devstripe, mailoutbox
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    [succeeded] = devstripe.events(type="charge.succeeded")

    outcomes = [deliver(api, succeeded, WEBHOOK_SECRET).json()["outcome"] for _ in range(2)]
    reconcile()
    receipts_settled()

    assert outcomes == ["processed", "duplicate"]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == f"Your receipt for order {order.pk}"


def test_a_webhook_that_pays_before_the_lost_answer_sends_the_one_receipt(
    shopper_api, api, product, devstripe, mailoutbox
):
    lost = while_stripe_fails(
        devstripe,
        "drop_after",
        "/v1/charges",
        lambda: place(shopper_api, product, token="tok_visa"),
        method="POST",
    )
    assert lost.status_code == 503
    order_id = lost.json()["order"]["id"]
    [succeeded] = devstripe.events(type="charge.succeeded")

    for _ in range(2):
        deliver(api, succeeded, WEBHOOK_SECRET)
    receipts_settled()
    answer = confirm(shopper_api, order_id)
    reconcile()
    receipts_settled()

    assert answer.json()["order"]["status"] == "PAID"
    [mail] = mailoutbox
    assert "Paid with:    Visa ending in 4242\n" in mail.body


def test_a_declined_order_gets_no_receipt(shopper_api, product, devstripe, mailoutbox):
    response = buy(shopper_api, product, token="tok_chargeDeclined")
    reconcile()

    assert response.status_code == 402
    assert mailoutbox == []


def test_a_mail_server_failure_leaves_the_payment_paid_and_the_receipt_to_reconcile(
    shopper_api, product, devstripe, mailoutbox, settings
):
    settings.EMAIL_BACKEND = REFUSING
    order = paid(buy(shopper_api, product, token="tok_visa"))
    order.refresh_from_db()
    assert (order.receipt_sent_at, order.receipt_claimed_until) == (None, None)
    assert "0 receipt(s) sent, 1 left for the next run" in reconcile()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    first, second = reconcile(), reconcile()

    assert "1 receipt(s) sent, 0 left for the next run" in first
    assert "0 receipt(s) sent, 0 left for the next run" in second
    [mail] = mailoutbox
    assert mail.subject == f"Your receipt for order {order.pk}"


def test_a_mail_server_that_cannot_be_reached_fails_no_payment(
    shopper_api, product, devstripe, mailoutbox, settings
):
    """A real SMTP backend pointed at a port where nothing listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    order = paid(buy(shopper_api, product, token="tok_visa"))

    order.refresh_from_db()
    assert order.receipt_sent_at is None
    assert "0 receipt(s) sent, 1 left for the next run" in reconcile()


def test_a_crash_between_paying_and_sending_is_sent_by_reconcile_once_the_claim_runs_out(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    reconcile()  # the claim of the process that died still runs: nobody else sends
    assert mailoutbox == []

    claim_runs_out(order)
    reconcile()
    reconcile()

    assert len(mailoutbox) == 1
    order.refresh_from_db()
    assert order.receipt_sent_at is not None


def test_two_senders_at_once_send_one_receipt(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    claim_runs_out(order)
    senders = 6
    start = threading.Barrier(senders)
    results = []

    def send():
        try:
            start.wait()
            results.append(receipts.send_receipt(order.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [False] * (senders - 1) + [True]
    assert len(mailoutbox) == 1


def test_a_receipt_whose_sending_was_not_recorded_is_sent_again_only_after_its_claim(
    shopper_api, product, devstripe, mailoutbox, monkeypatch
):
    """The one window of at-least-once: the mail server accepted the receipt and the
    process lost the database before recording it."""

    def database_gone(order_id, **card):
        raise DatabaseError("server has gone away")

    monkeypatch.setattr(receipts, "_record_sent", database_gone)
    order = paid(buy(shopper_api, product, token="tok_visa"))
    monkeypatch.undo()
    assert len(mailoutbox) == 1

    reconcile()
    assert len(mailoutbox) == 1  # not while the claim runs
    claim_runs_out(order)
    reconcile()
    reconcile()

    assert len(mailoutbox) == 2


def send_late(claim):
    """The background thread's work, started only now (it waited in the queue)."""
    late = threading.Thread(target=receipts._send_claimed, args=claim)
    late.start()
    late.join(timeout=60)


@pytest.mark.parametrize("other_sender", ["sending", "done"])
def test_a_receipt_waiting_in_the_queue_past_its_claim_leaves_it_to_the_sender_that_took_it(
    shopper_api, product, devstripe, mailoutbox, monkeypatch, other_sender
):
    handed = []
    monkeypatch.setattr(receipts, "_hand_to_background", lambda *claim: handed.append(claim))
    order = paid(buy(shopper_api, product, token="tok_visa"))
    claim_runs_out(order)
    if other_sender == "sending":  # another instance's reconcile took the claim
        assert receipts._claim(order.pk) is not None
    else:
        reconcile()

    send_late(handed[0])

    assert len(mailoutbox) == (0 if other_sender == "sending" else 1)


def test_a_receipt_that_waited_in_the_queue_claims_anew_before_sending(
    shopper_api, product, devstripe, mailoutbox, monkeypatch
):
    """Too little of its claim left for a send: it renews the claim, then sends."""
    handed = []
    monkeypatch.setattr(receipts, "_hand_to_background", lambda *claim: handed.append(claim))
    order = paid(buy(shopper_api, product, token="tok_visa"))
    order_id, claimed_until = handed[0]
    almost_over = timezone.now() + timedelta(seconds=1)
    Order.objects.filter(pk=order_id).update(receipt_claimed_until=almost_over)
    claims_sent_under = []
    deliver_receipt = receipts._deliver

    def delivering(order, claimed_until, mail=None):
        claims_sent_under.append(Order.objects.get(pk=order.pk).receipt_claimed_until)
        return deliver_receipt(order, claimed_until, mail)

    monkeypatch.setattr(receipts, "_deliver", delivering)

    send_late((order_id, almost_over))

    assert len(mailoutbox) == 1
    [claim] = claims_sent_under
    assert claim >= timezone.now() + receipts.send_budget() - timedelta(seconds=5)
    order.refresh_from_db()
    assert order.receipt_sent_at is not None


def test_a_run_sends_no_receipt_past_its_time_limit(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    claim_runs_out(order)

    late = receipts.send_due_receipts(seconds=-1)
    in_time = receipts.send_due_receipts()

    assert (late.sent, late.not_sent) == (0, 1)
    assert (in_time.sent, in_time.not_sent) == (1, 0)
    assert len(mailoutbox) == 1


# -- no receipt -------------------------------------------------------------------------


def test_an_order_refunded_before_its_receipt_went_out_gets_none(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    from orders.refunds import refund_order

    order = paid(buy(shopper_api, product, token="tok_visa"))
    refund_order(order=order)
    claim_runs_out(order)
    reconcile()

    assert mailoutbox == []


def test_a_refund_after_the_receipt_sends_nothing_more(shopper_api, product, devstripe, mailoutbox):
    from orders.refunds import refund_order

    order = paid(buy(shopper_api, product, token="tok_visa"))
    refund_order(order=order)
    reconcile()
    receipts_settled()

    assert len(mailoutbox) == 1


def test_orders_paid_before_receipts_existed_get_none(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    Order.objects.filter(pk=order.pk).update(paid_at=None, receipt_claimed_until=None)

    reconcile()

    assert mailoutbox == []


def test_a_receipt_not_sent_within_a_week_is_given_up(
    shopper_api, product, devstripe, mailoutbox, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    eight_days_ago = timezone.now() - timedelta(days=8)
    Order.objects.filter(pk=order.pk).update(paid_at=eight_days_ago, receipt_claimed_until=None)

    reconcile()

    assert mailoutbox == []


# -- reading Stripe's charge ------------------------------------------------------------


def charge_with(**fields):
    return {"object": "charge", "id": "ch_1", "status": "succeeded", "amount": 1999, **fields}


def test_the_card_and_receipt_page_are_read_from_the_charge():
    payment = payments.parse_payment(
        charge_with(
            payment_method_details={"type": "card", "card": {"brand": "amex", "last4": "0005"}},
            receipt_url="https://pay.stripe.com/receipts/payment/CAcaFwoVYWNj",
        )
    )

    assert (payment.card_brand, payment.card_last4, payment.receipt_url) == (
        "amex",
        "0005",
        "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNj",
    )


@pytest.mark.parametrize(
    "odd",
    [
        {"payment_method_details": {"card": {"brand": "Visa\r\nBcc: x@y", "last4": "42a2"}}},
        {"payment_method_details": {"card": {"brand": ["visa"], "last4": 4242}}},
        {"payment_method_details": "card", "receipt_url": "javascript:alert(1)"},
        {"receipt_url": "https://pay.stripe.com/r\nBcc: everyone@example.com"},
        {"receipt_url": "https://" + "x" * 500},
    ],
)
def test_whatever_is_not_a_card_or_a_web_address_is_left_out(odd):
    payment = payments.parse_payment(charge_with(**odd))

    assert (payment.card_brand, payment.card_last4, payment.receipt_url) == ("", "", "")


# -- configuration ----------------------------------------------------------------------


@override_settings(DEBUG=False, DEFAULT_FROM_EMAIL="Shop <receipts@example.com>")
@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("django.core.mail.backends.console.EmailBackend", ["stripedemo.W002"]),
        ("django.core.mail.backends.dummy.EmailBackend", ["stripedemo.W002"]),
        ("django.core.mail.backends.smtp.EmailBackend", []),
    ],
)
def test_check_deploy_warns_when_receipts_would_not_be_emailed(backend, warned, settings):
    settings.EMAIL_BACKEND = backend

    assert [message.id for message in checks.check_receipts_are_delivered()] == warned


@override_settings(DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend")
@pytest.mark.parametrize(
    ("sender", "warned"),
    [
        ("Stripe Demo shop <receipts@localhost>", ["stripedemo.W003"]),
        ("webmaster", ["stripedemo.W003"]),
        ("Stripe Demo shop <receipts@example.com>", []),
    ],
)
def test_check_deploy_warns_about_a_sender_address_of_no_domain(sender, warned, settings):
    settings.DEFAULT_FROM_EMAIL = sender

    assert [message.id for message in checks.check_receipts_are_delivered()] == warned


def test_receipts_are_printed_locally_and_nothing_is_warned(settings):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert checks.check_receipts_are_delivered() == []


def test_without_a_mail_server_production_sends_nothing_and_the_receipt_waits(
    shopper_api, product, devstripe, mailoutbox, settings, caplog
):
    settings.EMAIL_BACKEND = "stripedemo.mail.UnsentEmailBackend"
    order = paid(buy(shopper_api, product, token="tok_visa"))

    # Paying hands nothing to the background senders: one line says why.
    [skipped] = [r for r in caplog.records if r.getMessage().startswith("receipt not sent")]
    assert skipped.order_id == order.pk
    assert not [r for r in caplog.records if r.name == "stripedemo.mail"]

    claim_runs_out(order)
    assert "0 receipt(s) sent, 1 left for the next run" in reconcile()
    order.refresh_from_db()
    assert order.receipt_sent_at is None
    [unsent] = [r for r in caplog.records if r.name == "stripedemo.mail"]  # reconcile's try
    assert unsent.subject == f"Your receipt for order {order.pk}"
    assert order.user.email not in caplog.text

    # Once a mail server is configured, the next run sends it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "1 receipt(s) sent, 0 left for the next run" in reconcile()
    assert [message.subject for message in mailoutbox] == [f"Your receipt for order {order.pk}"]


def test_locally_a_receipt_is_printed_on_standard_error_not_in_the_json_log(
    shopper_api, product, devstripe, settings, capsys
):
    settings.EMAIL_BACKEND = "stripedemo.mail.ConsoleEmailBackend"
    order = paid(buy(shopper_api, product, token="tok_visa"))

    printed = capsys.readouterr()
    assert f"Subject: Your receipt for order {order.pk}" in printed.err
    assert "Your receipt" not in printed.out


MAIL_WARNINGS = {"stripedemo.W002", "stripedemo.W003"}


def mail_settings(home, **environment):
    """EMAIL_BACKEND and the mail warnings of `check --deploy`, in a fresh process with
    the documented production environment changed by `environment` (None: unset)."""
    import ast
    import subprocess
    import sys

    from tests.deploy.conftest import PRODUCTION_ENV_FILE, ROOT, clean_environment, read_env_file

    documented = read_env_file(PRODUCTION_ENV_FILE)
    variables = {k: v for k, v in {**documented, **environment}.items() if v is not None}
    script = (
        "from django.conf import settings; from django.core import checks; "
        "print(settings.EMAIL_BACKEND); "
        "print(sorted(m.id for m in checks.run_checks(include_deployment_checks=True)))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=clean_environment(home, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    backend, warnings = result.stdout.strip().splitlines()[-2:]
    return backend, MAIL_WARNINGS & set(ast.literal_eval(warnings))


@pytest.mark.parametrize(
    ("environment", "backend", "warned"),
    [
        ({}, "django.core.mail.backends.smtp.EmailBackend", set()),
        ({"EMAIL_HOST": None}, "stripedemo.mail.UnsentEmailBackend", {"stripedemo.W002"}),
        (
            {"DEFAULT_FROM_EMAIL": None},
            "django.core.mail.backends.smtp.EmailBackend",
            {"stripedemo.W003"},
        ),
        (
            {"DJANGO_DEBUG": "true", "EMAIL_HOST": None},
            "stripedemo.mail.ConsoleEmailBackend",
            set(),
        ),
    ],
)
def test_the_mail_backend_follows_the_environment(environment, backend, warned, tmp_path):
    assert mail_settings(tmp_path, **environment) == (backend, warned)


def test_reconcile_reports_the_receipts_it_sent(
    shopper_api, product, devstripe, process_dies_before_sending
):
    order = paid(buy(shopper_api, product, token="tok_visa"))
    claim_runs_out(order)
    out = StringIO()

    call_command("reconcile_orders", "--older-than", "0", stdout=out)

    assert "1 receipt(s) sent, 0 left for the next run" in out.getvalue()
