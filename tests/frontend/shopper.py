"""What a shopper does in the browser, as steps the tests read like.

Everything is found the way a person (or a screen reader) finds it: by role, label and
visible text. The card form is devstripe's Stripe.js stand-in, whose fields carry the
same labels as Stripe's card Element.
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


def card_popup(page):
    return page.get_by_role("dialog", name="Pay with card")


def click_buy(page, product_name):
    page.get_by_role("button", name=f"Buy {product_name}").click()
    popup = card_popup(page)
    return popup


def wait_until_ready(popup):
    """The pop-up has opened and its card form is ready: the focus stays where typing puts it."""
    expect(popup).to_be_visible()
    expect(popup).not_to_have_attribute("aria-busy", "true")


def enter_card(popup, number, expiry=None, cvc="123"):
    wait_until_ready(popup)
    popup.get_by_label("Card number").fill(number)
    popup.get_by_label("Expiration date").fill(expiry or next_year_expiry())
    popup.get_by_label("Security code").fill(cvc)


def pay_button(popup):
    """Pay: "Pay $12.00", or "Paying…" while a payment is in flight."""
    return popup.get_by_role("button", name=re.compile(r"^Pay( |ing…)"))


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


def pay_now(page, order_id):
    """Press "Pay now" on a failed order (its page, or its row in My orders): the card
    pop-up opens for that same order."""
    page.get_by_role("button", name=f"Pay order {order_id} again").click()
    return card_popup(page)


def close_popup(popup):
    popup.get_by_role("button", name="Cancel").click()
    expect(popup).to_be_hidden()
