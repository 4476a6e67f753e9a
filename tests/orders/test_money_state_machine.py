"""A Hypothesis state machine that tries to make the shop lose track of money.

It drives the real shop and devstripe over HTTP, as shoppers, Stripe and an operator
would. The shop runs as two gunicorn instances on the test database (as Elastic
Beanstalk runs several): a patient one (STRIPE_TIMEOUT=3, two SDK retries) and an
impatient one (STRIPE_TIMEOUT=1, no retries, so every lost answer is an unknown
outcome). Each rule picks the instance it talks to.

Rules: place an order (token or PaymentMethod, 3-D Secure too, with or without an
Idempotency-Key); pay again with another card; confirm; complete or fail the 3-D Secure
step; the same request twice at once (same key), two pay/ at once (different keys, or
the same), two confirm/ at once; Stripe answering 500 / 429, dropping the request, or
the answer after committing, or being slower than the shop's timeout; a shop crash
(every worker SIGKILLed) while Stripe is working on its payment; webhooks delivered in
order, out of order, twice at once to both instances, again later, never (lost), or by
devstripe itself as it happens; a charge made outside the shop naming one of its orders
(the same amount or not); a refund made in Stripe's dashboard; reconcile_orders;
minutes passing (the shop's dates move back, so leases on requests that died run out).

After every step (money_checks.money_problems and the checks below): Stripe never holds
more for an order than its amount; at most one PaymentIntent per order; a PAID or
REFUNDED order is paid by a charge of its own; no order moves backwards (PENDING ->
FAILED -> PAID -> REFUNDED, as seen in the database or in any answer); an
Idempotency-Key names one order; a first answer calls a payment failed (402) only for
a card that declines. After draining (faults cleared, the leases run out, every webhook
not lost delivered, reconcile run twice): every succeeded charge of ours belongs to a
PAID/REFUNDED order of its amount and currency; no order is PENDING on a succeeded or
canceled PaymentIntent, nor at all unless its bank step awaits the shopper; every
foreign charge is a PaymentAnomaly and changed no order; replaying every key gives its
first answer, or the order's current state when the first request died or got 503 (never
"in progress"), and never a second order.

The run is derandomized (CI runs the same sequences) and short by default. To run it
longer, or to explore other sequences:

    MONEY_MACHINE_EXAMPLES=100 MONEY_MACHINE_STEPS=40 \\
        pytest tests/orders/test_money_state_machine.py -p no:cacheprovider
    MONEY_MACHINE_SEED=12345 pytest tests/orders/test_money_state_machine.py
"""

import functools
import io
import itertools
import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import stripe
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, note, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from catalog.models import Product
from orders.models import IdempotencyRecord, Order, PaymentAnomaly
from tests.helpers import token_for
from tests.orders.money_checks import (
    DECLINING_CARDS,
    PAID_STATES,
    Answer,
    Shopper,
    at_once,
    clear_faults,
    complete_3ds,
    deliver_event,
    events_oldest_first,
    money_problems,
    pay_path,
    place_body,
    read_orders,
    read_stripe,
    settled_problems,
    shop_process,
    time_passes,
    webhook_accepted,
)
from tests.servers import WEBHOOK_SECRET

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("MONEY_MACHINE_EXAMPLES", "8"))
STEPS = int(os.environ.get("MONEY_MACHINE_STEPS", "15"))
SEED = os.environ.get("MONEY_MACHINE_SEED")
# MONEY_MACHINE_SHRINK=0 reports the first failing sequence as found, unshrunk (quicker).
SHRINK = os.environ.get("MONEY_MACHINE_SHRINK", "1") != "0"
# MONEY_MACHINE_SUMMARY=<file>: what the run exercised (rules, answers, final states).
SUMMARY = os.environ.get("MONEY_MACHINE_SUMMARY")
# Room for the run and Hypothesis's shrinking (at most 5 minutes) of a failure.
TIMEOUT = EXAMPLES * (STEPS * 3 + 15) + 420

TOKENS = ["tok_visa", "tok_chargeDeclined"]
PAYMENT_METHODS = ["pm_card_visa", "pm_card_chargeDeclined", "pm_card_threeDSecure2Required"]
cards = st.sampled_from(TOKENS + PAYMENT_METHODS)
payment_methods = st.sampled_from(PAYMENT_METHODS)
shoppers = st.integers(0, 1)
products = st.integers(0, 1)
# 0: the patient instance, 1: the impatient one.
instances = st.integers(0, 1)
# (method, path prefix) of the Stripe calls the shop makes that faults may hit. None of
# them is a path the checks read through (money_checks reads list endpoints only).
STRIPE_CALLS = [
    ("POST", "/v1/charges"),
    ("POST", "/v1/payment_intents"),
    ("GET", "/v1/payment_intents/"),
    ("GET", "/v1/charges/search"),
    ("GET", "/v1/payment_intents/search"),
]
stripe_calls = st.sampled_from(STRIPE_CALLS)

PLACE_ANSWERS = {201, 202, 400, 402, 409, 429, 503}
PAY_ANSWERS = {200, 201, 202, 400, 402, 409, 429, 503}
CONFIRM_ANSWERS = {200, 202, 402, 429, 503}

_names = itertools.count(1)


@dataclass(frozen=True)
class OrderRef:
    id: int
    shopper: int

    def __repr__(self):
        return f"order{self.id}"


@dataclass
class KeyUse:
    """An Idempotency-Key the machine sent, and every answer it got with it."""

    shopper: int
    key: str
    what: str  # "place" or "pay"
    path: str
    body: dict
    order_id: int | None = None  # the order a pay/ key is about
    answers: list = field(default_factory=list)
    raced: bool = False  # sent twice at once: which answer was "first" is unknown


@dataclass
class World:
    devstripe: object
    shops: list
    products: list
    slow_faults_added: int = 0
    live_webhooks: bool = False
    seen: Counter = field(default_factory=Counter)  # for MONEY_MACHINE_SUMMARY


def guarded(method):
    """Mark the machine broken when a step fails, so teardown does not pile a drain
    failure on top of the step's (Hypothesis reports and shrinks the first)."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        self.world.seen[f"ran {method.__name__}"] += 1
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.broken = True
            raise

    return run


def wait_for_slow_stripe_calls(world, seconds=15):
    """Wait until every slow fault devstripe has started serving has finished, so no
    Stripe object of a previous example appears after the next one has started."""
    devstripe = world.devstripe
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = sum(f["times"] for f in devstripe.faults() if f["mode"] == "slow")
        started = world.slow_faults_added - waiting
        finished = len([r for r in devstripe.requests() if r["fault"] == "slow"])
        if finished >= started:
            return
        time.sleep(0.05)


def forget_everything():
    """An empty shop for the next example (products stay)."""
    for model in apps.get_app_config("orders").get_models():
        if model is not Order:
            model.objects.all().delete()
    Order.objects.all().delete()
    get_user_model().objects.filter(username__startswith="machine-").delete()


def stripe_sdk(devstripe):
    return stripe.StripeClient(
        devstripe.secret_key, base_addresses={"api": devstripe.url}, max_network_retries=5
    )


class MoneyMachine(RuleBasedStateMachine):
    world: World = None
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        world = self.world
        self.devstripe = world.devstripe
        self.shops = world.shops
        self.broken = False
        world.seen["examples"] += 1
        if world.live_webhooks:
            self.devstripe.configure(webhook_url="", webhook_secret="", webhook_delay_ms=0)
            world.live_webhooks = False
            time.sleep(0.6)
        wait_for_slow_stripe_calls(world)
        for shop in self.shops:
            shop.ensure_up()
        self.devstripe.reset()
        world.slow_faults_added = 0
        self.devstripe.configure(
            latency_ms=0, webhook_url="", webhook_secret="", webhook_delay_ms=0
        )
        forget_everything()
        User = get_user_model()
        self.shoppers, self.user_ids = [], {}
        for index in range(2):
            name = f"machine-{next(_names)}-{uuid.uuid4().hex[:6]}@example.com"
            user = User.objects.create_user(username=name, email=name, password=None)
            self.shoppers.append(Shopper(token_for(user)))
            self.user_ids[user.pk] = index
        self.known_orders = {}  # order id -> OrderRef
        self.order_budget = [0, 0]  # orders each shopper may have: places without a key + keys
        self.keys = []  # KeyUse
        self.step_answers = []  # (what, order id it is about, Answer) since the last check
        self.highest = {}  # order id -> the furthest status it was seen in
        self.foreign = set()  # charges made outside the shop, naming our orders
        self.delivered = set()  # events the machine delivered itself
        self.lost = set()  # events never to be delivered

    # -- helpers ---------------------------------------------------------------------

    def url(self, instance):
        return self.shops[instance].url

    def new_key(self, what):
        return f"{what}-{uuid.uuid4()}"

    def see(self, what, answer, card=None, about=None):
        """Record an answer and check what an answer alone must satisfy."""
        self.step_answers.append((what, about or answer.order_id, answer))
        note(f"{what} -> {answer!r}")
        self.world.seen[f"{what} answered {answer.status or 'nothing (died)'}"] += 1
        if answer.status is None:
            return
        allowed = {"place": PLACE_ANSWERS, "pay": PAY_ANSWERS, "confirm": CONFIRM_ANSWERS}
        assert answer.status in allowed[what], f"{what} answered {answer.status}: {answer.body}"
        if card is not None and answer.status == 402:
            # A lost answer, a 503 or a timeout is an unknown outcome, never a failure.
            assert card in DECLINING_CARDS, (
                f"{what} with {card}, a card that does not decline, answered 402: {answer.body}"
            )

    def place(self, shopper, product, quantity, card, key, instance):
        body = place_body(self.world.products[product].id, card, quantity)
        return self.shoppers[shopper].post(self.url(instance), "/api/order/", body, key)

    def key_use(self, shopper, key, what, path, body, order_id=None):
        use = KeyUse(shopper, key, what, path, body, order_id)
        self.keys.append(use)
        if what == "place":
            self.order_budget[shopper] += 1
        return use

    def new_orders(self):
        """Orders that appeared since the last look (even from a request that died)."""
        found = []
        for order_id, user_id in Order.objects.values_list("id", "user_id"):
            if order_id not in self.known_orders and user_id in self.user_ids:
                ref = OrderRef(order_id, self.user_ids[user_id])
                self.known_orders[order_id] = ref
                found.append(ref)
        return multiple(*found)

    def add_fault(self, method, path, mode, times=1, delay_ms=0):
        self.devstripe.add_fault(
            method=method, path=path, mode=mode, times=times, delay_ms=delay_ms
        )
        if mode == "slow":
            self.world.slow_faults_added += times

    def events(self):
        return events_oldest_first(self.devstripe)

    def deliver(self, event, instance, copies=1):
        if copies == 1:
            statuses = [deliver_event(self.url(instance), event)]
        else:
            statuses = at_once(
                *[
                    functools.partial(deliver_event, self.url((instance + n) % 2), event)
                    for n in range(copies)
                ]
            )
        self.delivered.add(event["id"])
        note(f"delivered {event['type']} {event['id']} x{copies}: {statuses}")
        for status in statuses:
            assert webhook_accepted(status), f"webhook {event['type']} answered {status}"

    def reconcile_now(self):
        out, err = io.StringIO(), io.StringIO()
        call_command("reconcile_orders", "--older-than", "0", stdout=out, stderr=err)
        note(f"reconcile: {out.getvalue().strip()} {err.getvalue().strip()}")

    # -- shoppers --------------------------------------------------------------------

    @initialize(target=orders, card=cards, with_key=st.booleans(), instance=instances)
    @guarded
    def first_order(self, card, with_key, instance):
        """Every example starts with an order, so that rules about orders apply at once."""
        return self.place_order(0, 0, 1, card, with_key, instance)

    @rule(
        target=orders,
        shopper=shoppers,
        product=products,
        quantity=st.integers(1, 3),
        card=cards,
        with_key=st.booleans(),
        instance=instances,
    )
    @guarded
    def place_order(self, shopper, product, quantity, card, with_key, instance):
        key = self.new_key("place") if with_key else None
        answer = self.place(shopper, product, quantity, card, key, instance)
        if key:
            use = self.key_use(
                shopper, key, "place", "/api/order/", answer_body(self, product, card, quantity)
            )
            use.answers.append(answer)
        else:
            self.order_budget[shopper] += 1
        self.see("place", answer, card)
        return self.new_orders()

    @rule(order=orders, card=payment_methods, instance=instances)
    @guarded
    def pay_again(self, order, card, instance):
        key = self.new_key("pay")
        use = self.key_use(
            order.shopper, key, "pay", pay_path(order.id), {"payment_method": card}, order.id
        )
        answer = self.shoppers[order.shopper].pay(self.url(instance), order.id, card, key)
        use.answers.append(answer)
        self.see("pay", answer, card, about=order.id)

    @rule(order=orders, instance=instances)
    @guarded
    def confirm(self, order, instance):
        answer = self.shoppers[order.shopper].confirm(self.url(instance), order.id)
        self.see("confirm", answer, about=order.id)

    @rule(order=orders, succeed=st.booleans())
    @guarded
    def three_d_secure_step(self, order, succeed):
        """The shopper completes (or fails) the bank's step of the order's PaymentIntent."""
        stripe_state = read_stripe(self.devstripe)
        for intent in stripe_state.intents_of().get(order.id, []):
            if intent["status"] == "requires_action":
                status = complete_3ds(self.devstripe, intent, succeed)
                note(
                    f"3-D Secure {'completed' if succeed else 'failed'} on {intent['id']}: {status}"
                )

    # -- the same thing twice at once --------------------------------------------------

    @rule(
        target=orders,
        shopper=shoppers,
        product=products,
        card=cards,
        instances=st.tuples(instances, instances),
    )
    @guarded
    def same_key_twice_at_once(self, shopper, product, card, instances):
        key = self.new_key("place")
        use = self.key_use(
            shopper, key, "place", "/api/order/", answer_body(self, product, card, 1)
        )
        use.raced = True
        answers = at_once(
            *[functools.partial(self.place, shopper, product, 1, card, key, i) for i in instances]
        )
        use.answers += answers
        for answer in answers:
            self.see("place", answer, card)
        return self.new_orders()

    @rule(
        order=orders,
        cards=st.tuples(payment_methods, payment_methods),
        same_key=st.booleans(),
        instances=st.tuples(instances, instances),
    )
    @guarded
    def pay_twice_at_once(self, order, cards, same_key, instances):
        shopper = self.shoppers[order.shopper]
        if same_key:
            cards = (cards[0], cards[0])
            key = self.new_key("pay")
            uses = [
                self.key_use(
                    order.shopper,
                    key,
                    "pay",
                    pay_path(order.id),
                    {"payment_method": cards[0]},
                    order.id,
                )
            ] * 2
            uses[0].raced = True
        else:
            uses = [
                self.key_use(
                    order.shopper,
                    self.new_key("pay"),
                    "pay",
                    pay_path(order.id),
                    {"payment_method": card},
                    order.id,
                )
                for card in cards
            ]
        answers = at_once(
            *[
                functools.partial(shopper.pay, self.url(i), order.id, card, use.key)
                for i, card, use in zip(instances, cards, uses, strict=True)
            ]
        )
        for use, card, answer in zip(uses, cards, answers, strict=True):
            use.answers.append(answer)
            self.see("pay", answer, card, about=order.id)

    @rule(order=orders)
    @guarded
    def confirm_twice_at_once(self, order):
        shopper = self.shoppers[order.shopper]
        answers = at_once(
            *[functools.partial(shopper.confirm, self.url(i), order.id) for i in (0, 1)]
        )
        for answer in answers:
            self.see("confirm", answer, about=order.id)

    # -- Stripe misbehaving ------------------------------------------------------------

    @rule(
        call=stripe_calls,
        mode=st.sampled_from(["error_500", "drop_after", "drop_before", "rate_limit"]),
        times=st.integers(1, 3),
    )
    @guarded
    def stripe_fails_next_calls(self, call, mode, times):
        self.add_fault(*call, mode=mode, times=times)

    @rule(call=stripe_calls, delay_ms=st.sampled_from([1500, 3500]))
    @guarded
    def stripe_slower_than_the_timeout(self, call, delay_ms):
        # 1.5 s is past the impatient instance's timeout, 3.5 s past the patient one's.
        self.add_fault(*call, mode="slow", delay_ms=delay_ms)

    @rule(
        target=orders,
        shopper=shoppers,
        product=products,
        card=cards,
        with_key=st.booleans(),
        instance=instances,
    )
    @guarded
    def shop_crashes_while_stripe_pays(self, shopper, product, card, with_key, instance):
        """Every worker of an instance is SIGKILLed while Stripe is (slowly) making the
        payment: the request dies between Stripe and the database."""
        path = "/v1/charges" if card.startswith("tok_") else "/v1/payment_intents"
        self.add_fault("POST", path, mode="slow", delay_ms=2000)
        key = self.new_key("place") if with_key else None
        if key:
            use = self.key_use(
                shopper, key, "place", "/api/order/", answer_body(self, product, card, 1)
            )
        else:
            self.order_budget[shopper] += 1
        result = {}
        thread = threading.Thread(
            target=lambda: result.update(
                answer=self.place(shopper, product, 1, card, key, instance)
            )
        )
        thread.start()
        time.sleep(0.8)
        killed = self.shops[instance].kill_workers()
        thread.join(60)
        self.shops[instance].ensure_up()
        answer = result.get("answer", Answer(None, error="no answer"))
        note(f"killed workers {killed}")
        if key:
            use.answers.append(answer)
        self.see("place", answer, card)
        wait_for_slow_stripe_calls(self.world)
        return self.new_orders()

    # -- webhooks ----------------------------------------------------------------------

    @rule(which=st.integers(0, 40), copies=st.integers(1, 2), instance=instances)
    @guarded
    def deliver_a_webhook(self, which, copies, instance):
        """The oldest undelivered event (which=0), or a later one: out of order; with
        copies=2 the same event reaches both instances at once."""
        waiting = [e for e in self.events() if e["id"] not in self.delivered | self.lost]
        if waiting:
            self.deliver(waiting[which % len(waiting)], instance, copies)

    @rule(which=st.integers(0, 40), instance=instances)
    @guarded
    def deliver_a_webhook_again(self, which, instance):
        done = [e for e in self.events() if e["id"] in self.delivered]
        if done:
            self.deliver(done[which % len(done)], instance)

    @rule()
    @guarded
    def lose_the_undelivered_webhooks(self):
        """Stripe gave up on them (or the endpoint was down): they never arrive. Events
        of foreign charges stay, so that their anomalies can be expected."""
        for event in self.events():
            if event["id"] not in self.delivered and (
                event["data"]["object"].get("id") not in self.foreign
            ):
                self.lost.add(event["id"])

    @rule(on=st.booleans(), delay_ms=st.sampled_from([0, 300]), instance=instances)
    @guarded
    def stripe_sends_webhooks_itself(self, on, delay_ms, instance):
        """devstripe delivers every new event from its own thread, in any order."""
        if on:
            self.devstripe.configure(
                webhook_url=f"{self.url(instance)}/api/stripe/webhook/",
                webhook_secret=WEBHOOK_SECRET,
                webhook_delay_ms=delay_ms,
            )
        else:
            self.devstripe.configure(webhook_url="", webhook_secret="", webhook_delay_ms=0)
        self.world.live_webhooks = on

    # -- outside the shop ----------------------------------------------------------------

    @rule(order=orders, same_amount=st.booleans())
    @guarded
    def foreign_charge_names_an_order(self, order, same_amount):
        """A charge made outside the shop (another system on the account, by hand) whose
        metadata names one of our orders: it must change nothing."""
        row = Order.objects.get(pk=order.id)
        amount = row.amount if same_amount else 50
        params = {
            "amount": amount,
            "currency": row.currency,
            "source": "tok_visa",
            "metadata": {"order_id": str(order.id)},
        }
        client, key = stripe_sdk(self.devstripe), self.new_key("foreign")
        for attempt in range(5):
            try:
                charge = client.v1.charges.create(params, {"idempotency_key": key})
                break
            except stripe.StripeError:
                if attempt == 4:
                    raise
                time.sleep(0.2)
        self.foreign.add(charge.id)
        note(f"foreign charge {charge.id} of {amount} {row.currency} naming {order!r}")

    @rule(order=orders)
    @guarded
    def refund_in_the_stripe_dashboard(self, order):
        charges = read_stripe(self.devstripe, self.foreign).succeeded_charges().get(order.id, [])
        for charge in charges:
            if not charge["refunded"]:
                refund = stripe_sdk(self.devstripe).v1.refunds.create(
                    {"charge": charge["id"]}, {"idempotency_key": self.new_key("refund")}
                )
                note(f"refunded {charge['id']} in the dashboard: {refund.id}")
                return

    @rule()
    @guarded
    def reconcile(self):
        self.reconcile_now()

    @rule()
    @guarded
    def minutes_pass(self):
        """Five minutes pass: requests that died are past their lease (nobody can still
        be asking Stripe for them), so reconcile and replays may settle them."""
        time_passes(minutes=5)

    # -- after every step --------------------------------------------------------------

    @invariant()
    @guarded
    def money_is_never_lost_or_doubled(self):
        answers, self.step_answers = self.step_answers, []
        for _, _, answer in answers:
            # Every status an answer showed was the order's at some moment before now.
            if answer.order_id is not None and answer.order_status in STATUS_RANK:
                seen = self.highest.get(answer.order_id)
                self.highest[answer.order_id] = max_status(seen, answer.order_status)
        orders = read_orders()
        stripe_state = read_stripe(self.devstripe, self.foreign)
        problems = money_problems(orders, stripe_state)
        paid_money = stripe_state.succeeded_charges()
        for what, _, answer in answers:
            if answer.order_status in PAID_STATES and not paid_money.get(answer.order_id):
                problems.append(f"{what} showed order {answer.order_id} paid: {answer!r}")
        for order_id, row in orders.items():
            # PENDING -> FAILED -> PAID -> REFUNDED, skipping allowed, never backwards.
            seen = self.highest.get(order_id)
            if STATUS_RANK[row["status"]] < STATUS_RANK[seen]:
                problems.append(f"order {order_id} went back from {seen} to {row['status']}")
            self.highest[order_id] = max_status(seen, row["status"])
        problems += self.key_problems(orders)
        assert not problems, "\n".join(problems)

    def key_problems(self, orders):
        problems = []
        for use in self.keys:
            named = {a.order_id for a in use.answers if a.order_id is not None}
            if use.order_id is not None:
                named.add(use.order_id)
            if len(named) > 1:
                problems.append(f"Idempotency-Key {use.key} answered with orders {sorted(named)}")
        owners = Order.objects.values_list("user_id", flat=True)
        for index in range(2):
            mine = [u for u in owners if self.user_ids.get(u) == index]
            if len(mine) > self.order_budget[index]:
                problems.append(
                    f"shopper {index} has {len(mine)} orders from {self.order_budget[index]} "
                    "purchases (places without a key, plus keys)"
                )
        return problems

    # -- draining ---------------------------------------------------------------------

    def teardown(self):
        if self.broken:
            return
        try:
            self.drain_and_check()
        except BaseException:
            self.broken = True
            raise

    def drain_and_check(self):
        note("-- drain: faults cleared, every webhook delivered, reconcile twice")
        if self.world.live_webhooks:
            self.devstripe.configure(webhook_url="", webhook_secret="", webhook_delay_ms=0)
            self.world.live_webhooks = False
            time.sleep(0.6)
        wait_for_slow_stripe_calls(self.world)
        clear_faults(self.devstripe)
        time_passes(minutes=5)
        for round_ in range(3):
            for n, event in enumerate(self.events()):
                if event["id"] not in self.delivered | self.lost:
                    self.deliver(event, n % 2)
            if round_ < 2:
                self.reconcile_now()
        self.money_is_never_lost_or_doubled()

        orders = read_orders()
        for status in sorted({row["status"] for row in orders.values()}):
            self.world.seen[f"examples drained with an order {status}"] += 1
        if self.foreign:
            self.world.seen["examples drained with a foreign charge"] += 1
        stripe_state = read_stripe(self.devstripe, self.foreign)
        problems = settled_problems(orders, stripe_state)
        recorded = set(
            PaymentAnomaly.objects.filter(stripe_id__in=self.foreign).values_list(
                "stripe_id", flat=True
            )
        )
        for charge_id in sorted(self.foreign - recorded):
            problems.append(f"foreign charge {charge_id} is not recorded as a PaymentAnomaly")
        assert not problems, "\n".join(problems)
        self.replay_every_key(orders)

    def replay_every_key(self, orders):
        """Invariant 5: a key gives one outcome; it never sticks "in progress"."""
        problems = []
        for use in self.keys:
            first = use.answers[0] if use.answers else Answer(None)
            if any(a.status == 429 for a in use.answers):
                continue  # a throttled request claims nothing
            # The order the key is about: a pay/'s, or the one its place request made
            # (the shop's record knows it even when that request died unanswered).
            kept = list(
                IdempotencyRecord.objects.filter(
                    user_id__in=list(self.user_ids), key=use.key
                ).values_list("order_id", flat=True)
            )
            answered = [a.order_id for a in use.answers if a.order_id is not None]
            order_id = use.order_id or next(iter(answered + kept), None)
            before = Order.objects.count()
            replay = self.shoppers[use.shopper].post(self.url(0), use.path, use.body, use.key)
            made = Order.objects.count() - before
            note(f"replay {use.what} {use.key}: {replay!r} (first {use.answers})")
            if made and (order_id is not None or kept):
                problems.append(f"replay of {use.key} made {made} new order(s): {replay!r}")
            if replay.status in (None, 503) or replay.status >= 500:
                problems.append(f"replay of {use.key} answered {replay!r} with Stripe healthy")
                continue
            if order_id is not None and replay.order_id not in (None, order_id):
                problems.append(
                    f"replay of {use.key} names order {replay.order_id}, not {order_id}"
                )
            # The first answer, when there was one (sent alone, so it is known which).
            settled_first = not use.raced and first.status not in (None, 503)
            if settled_first:
                if replay.status != first.status:
                    problems.append(
                        f"replay of {use.key} answered {replay!r}, not its first answer {first!r}"
                    )
            elif replay.status == 409 and not replay.replayed:
                # Not a stored answer: still "in progress" after everything settled (a
                # pay/ may say its order is paid already: that is its current state).
                if not (use.what == "pay" and replay.order_status in PAID_STATES):
                    problems.append(
                        f"replay of {use.key} (first: {use.answers}) still answers 409: "
                        f"{replay.body}"
                    )
        assert not problems, "\n".join(problems)


def answer_body(machine, product, card, quantity):
    return place_body(machine.world.products[product].id, card, quantity)


STATUS_RANK = {None: 0, "PENDING": 0, "FAILED": 1, "PAID": 2, "REFUNDED": 3}


def max_status(a, b):
    return a if STATUS_RANK[a] >= STATUS_RANK[b] else b


@pytest.fixture
def world(devstripe, settings):
    # reconcile_orders runs in this process: quick to give up, like the impatient shop.
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_TIMEOUT = 2
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    catalog = [
        Product.objects.create(name="Machine mug", price=Decimal("19.99"), currency="usd"),
        Product.objects.create(name="Machine scarf", price=Decimal("12.50"), currency="eur"),
    ]
    patient = {"STRIPE_TIMEOUT": 3, "STRIPE_MAX_NETWORK_RETRIES": 2}
    impatient = {"STRIPE_TIMEOUT": 1, "STRIPE_MAX_NETWORK_RETRIES": 0}
    with shop_process(devstripe, **patient) as one, shop_process(devstripe, **impatient) as two:
        yield World(devstripe, [one, two], catalog)
    devstripe.configure(webhook_url="", webhook_secret="", webhook_delay_ms=0)


@pytest.mark.timeout(TIMEOUT)
def test_money_survives_faults_races_crashes_and_webhooks(world):
    MoneyMachine.world = world
    machine = MoneyMachine if SEED is None else seed(int(SEED))(MoneyMachine)
    try:
        run_state_machine_as_test(
            machine,
            settings=hypothesis_settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                derandomize=SEED is None,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=list(Phase) if SHRINK else [p for p in Phase if p != Phase.shrink],
            ),
        )
    finally:
        if SUMMARY:
            with open(SUMMARY, "w") as out:
                json.dump(dict(sorted(world.seen.items())), out, indent=1)
