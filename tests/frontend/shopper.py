"""What a shopper does in the browser, as steps the tests read like.

Everything is found the way a person (or a screen reader) finds it: by role, label and
visible text. The payment form is devstripe's stand-in for Stripe's Payment Element:
a choice of payment method (a card, and two clearly labelled test methods: one that
leaves for devstripe's redirect page, one that settles later), whose fields carry the
same labels as Stripe's.
"""

import datetime
import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.helpers import PASSWORD

VISA = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
THREE_D_SECURE = "4000 0027 6000 3184"  # the bank asks for 3-D Secure

# The payment methods the Payment Element offers (devstripe's names for its test ones).
CARD = "Card"
REDIRECT_METHOD = "Amazon Pay (test: devstripe redirect page)"
BANK_DEBIT = "US bank account (test: settles later)"
# Stripe's test bank account numbers (ACH Direct Debit): both settle a little later.
ROUTING_NUMBER = "110000000"
ACCOUNT_PAYS = "000123456789"
ACCOUNT_FAILS = "000222222227"  # insufficient funds


def wait_until_true(page, expression, arg=None, timeout=5_000):
    """Wait until `expression` (JavaScript, a function when `arg` is given) is true on the page.

    Not Playwright's wait_for_function: that compiles its predicate with eval inside the
    page, which the shop's Content-Security-Policy rightly forbids. page.evaluate goes
    through the browser's DevTools protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} ms: {expression}"
        page.wait_for_timeout(50)


def next_year_expiry():
    """An expiry date ("MM / YY") safely in the future."""
    return f"12 / {(datetime.date.today().year + 2) % 100:02d}"


def sign_up(page, email, password=PASSWORD, first_name="Sam", last_name="Shopper"):
    page.goto("/#/signup")
    fill_signup_form(page, email, password, first_name, last_name)


def fill_signup_form(page, email, password=PASSWORD, first_name="Sam", last_name="Shopper"):
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Last name").fill(last_name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()


def fill_login_form(page, email, password=PASSWORD):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def log_in(page, email, password=PASSWORD):
    page.goto("/#/login")
    fill_login_form(page, email, password)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def payment_popup(page):
    return page.get_by_role("dialog", name="Pay for your order")


def click_buy(page, product_name):
    page.get_by_role("button", name=f"Buy {product_name}").click()
    popup = payment_popup(page)
    return popup


def wait_until_ready(popup):
    """The pop-up has opened and its payment form is ready: the focus stays where typing
    puts it."""
    expect(popup).to_be_visible()
    expect(popup).not_to_have_attribute("aria-busy", "true")


def payment_method(popup, name):
    """One of the Payment Element's choices (a tab, or a radio button on narrow screens)."""
    return popup.get_by_role("tab", name=name, exact=True).or_(
        popup.get_by_role("radio", name=name, exact=True)
    )


def choose_payment_method(popup, name):
    wait_until_ready(popup)
    payment_method(popup, name).click()


def message_in_the_form(popup, text):
    """A message the Payment Element shows itself, by the field it is about (role alert)."""
    return popup.locator("#payment-element").get_by_role("alert").filter(has_text=text)


def enter_card(popup, number, expiry=None, cvc="123"):
    """The card method (the Element's first choice), and a card's details."""
    choose_payment_method(popup, CARD)
    popup.get_by_label("Card number").fill(number)
    popup.get_by_label("Expiration date").fill(expiry or next_year_expiry())
    popup.get_by_label("Security code").fill(cvc)


def enter_bank_account(popup, account_number, routing_number=ROUTING_NUMBER, holder="Sam Shopper"):
    """The bank debit method (US bank account: settles later), and an account's details."""
    choose_payment_method(popup, BANK_DEBIT)
    popup.get_by_label("Account holder name").fill(holder)
    popup.get_by_label("Routing number").fill(routing_number)
    popup.get_by_label("Account number").fill(account_number)


def pay_button(popup):
    """Pay: "Pay $12.00", or "Paying…" while a payment is in flight."""
    return popup.get_by_role("button", name=re.compile(r"^Pay( |ing…)"))


def redirect_page_button(page, name):
    """A button of devstripe's redirect page ("Authorize test payment", "Fail test payment"),
    where the redirect method takes the shopper (in place of their bank's or wallet's)."""
    return page.get_by_role("button", name=name)


def orders_posted(page):
    """Starts recording the shop's POST /api/order/ requests; returns the growing list."""
    posted = []
    page.on(
        "request",
        lambda request: (
            posted.append(request)
            if request.method == "POST" and request.url.endswith("/api/order/")
            else None
        ),
    )
    return posted


def payments_posted(page):
    """Starts recording every POST the page makes about orders: /api/order/ and
    /api/order/<id>/pay/ or /confirm/; returns the growing list of requests."""
    posted = []
    page.on(
        "request",
        lambda request: (
            posted.append(request)
            if request.method == "POST"
            and re.search(r"/api/order/(\d+/(pay|confirm)/)?$", request.url)
            else None
        ),
    )
    return posted


def path_of(request):
    return urlsplit(request.url).path


def bank_check(page):
    """The bank's 3-D Secure step as Stripe.js shows it: devstripe's test page in a frame."""
    return page.frame_locator("#devstripe-3ds-frame")


def complete_authentication(page):
    bank_check(page).get_by_role("button", name="Complete authentication").click()


def fail_authentication(page):
    bank_check(page).get_by_role("button", name="Fail authentication").click()


# What the order's page says while the shop confirms a payment of unknown outcome.
PAYMENT_PENDING = "Payment pending — confirming with Stripe"
# The heading right after paying (the order page as the confirmation).
JUST_PAID = "Thank you — your order is confirmed"
# What the order's page says while Stripe processes a payment that settles later.
PROCESSING = "Processing — we will confirm your payment"


def pay_now(page, order_id):
    """Press "Pay now" on a failed order (its page, or its row in My orders): the payment
    pop-up opens for that same order."""
    page.get_by_role("button", name=f"Pay order {order_id} again").click()
    return payment_popup(page)


def close_popup(popup):
    popup.get_by_role("button", name="Cancel").click()
    expect(popup).to_be_hidden()
