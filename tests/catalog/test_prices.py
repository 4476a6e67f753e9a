"""A product's price is one every order of it can be charged at (issue 12, item 3).

An order is 1 to ORDER_MAX_QUANTITY units, charged as price × quantity in the currency's
smallest unit. So the price has the decimals Stripe takes in its currency (whole yen,
whole krónur, at most two decimals of a dinar) and ORDER_MAX_QUANTITY units stay within
Stripe's maximum charge, 99999999 in the smallest unit. Checked where products are saved
(full_clean, the admin, seed_products) and by the database itself, for writes that skip
validation; on SQLite and on MariaDB alike.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from catalog.currency import STRIPE_MAX_AMOUNT, amount_in_smallest_unit, max_price
from catalog.management.commands.seed_products import DEMO_CATALOG
from catalog.models import Product
from orders.models import Order

pytestmark = pytest.mark.django_db

ORDER_MAX_QUANTITY = 10  # orders/limits.py; the rules below are written for it

# (price, currency): prices Stripe cannot charge for some order of 1 to 10 units.
UNSELLABLE = [
    ("0.5", "jpy"),  # no fraction of a yen
    ("12.50", "jpy"),  # the old demo catalog under STRIPE_CURRENCY=jpy
    ("1999.99", "krw"),
    ("5.50", "isk"),  # two decimals in Stripe's API, but whole krónur only
    ("100.01", "ugx"),
    ("5.125", "kwd"),  # thousandths exist, but Stripe wants the last digit 0
    ("100000.00", "usd"),  # 10 of them are 100000000 cents, over eight digits
    ("9999999.99", "usd"),  # 10 of them overflow orders_order.amount on MariaDB too
    ("10000000", "jpy"),
    ("100000", "isk"),
    ("10000.00", "kwd"),
    ("0.00", "usd"),
]

# The highest price of each kind of currency: ORDER_MAX_QUANTITY of it is chargeable.
HIGHEST = [
    ("99999.99", "usd"),
    ("99999.99", "huf"),  # zero-decimal for payouts only: charged with two decimals
    ("9999999", "jpy"),
    ("9999999", "xof"),
    ("99999", "isk"),
    ("99999", "ugx"),
    ("9999.99", "kwd"),
    ("9999.99", "tnd"),
]

# One step of price above each highest price: refused.
ONE_STEP_ABOVE = [
    ("100000.00", "usd"),
    ("100000.00", "huf"),
    ("10000000", "jpy"),
    ("10000000", "xof"),
    ("100000", "isk"),
    ("100000", "ugx"),
    ("10000.00", "kwd"),
    ("10000.00", "tnd"),
]


def unsaved(price, currency="usd", name="Test product"):
    return Product(name=name, price=Decimal(price), currency=currency)


def test_the_rules_are_written_for_the_order_limit(settings):
    assert settings.ORDER_MAX_QUANTITY == ORDER_MAX_QUANTITY
    assert STRIPE_MAX_AMOUNT == 99_999_999
    for price, currency in HIGHEST:
        assert max_price(currency, ORDER_MAX_QUANTITY) == Decimal(price)
    # Like the Order's quantity constraint, the database's copy names the limit it holds
    # for: changing the limit makes a migration.
    names = {constraint.name for constraint in Product._meta.constraints}
    assert f"product_price_chargeable_for_{ORDER_MAX_QUANTITY}" in names


# -- model validation: what the admin and seed_products go through ----------------------


@pytest.mark.parametrize(("price", "currency"), UNSELLABLE)
def test_full_clean_refuses_a_price_stripe_cannot_charge_on_the_price_field(price, currency):
    with pytest.raises(ValidationError) as refusal:
        unsaved(price, currency).full_clean()

    assert "price" in refusal.value.message_dict
    assert "currency" not in refusal.value.message_dict


@pytest.mark.parametrize(
    ("price", "currency", "says"),
    [
        ("0.5", "jpy", "(Stripe charges jpy in whole units)"),
        ("5.50", "isk", "(Stripe charges isk in whole units)"),
        (
            "9999999.99",
            "usd",
            "10 × 9999999.99 usd is 9999999990 in the smallest unit of usd, over Stripe's "
            "maximum charge of 99999999: 10 cost at most 99999.99 usd each",
        ),
        ("10000000", "jpy", "10 cost at most 9999999 jpy each"),
    ],
)
def test_the_refusal_says_why_and_what_would_do(price, currency, says):
    with pytest.raises(ValidationError) as refusal:
        unsaved(price, currency).full_clean()

    [message] = refusal.value.message_dict["price"]
    assert message.startswith("Cannot be sold (an order is 1 to 10 units): ")
    assert says in message


@pytest.mark.parametrize(("price", "currency"), HIGHEST)
def test_full_clean_accepts_the_highest_price_of_each_kind_of_currency(price, currency):
    product = unsaved(price, currency)

    product.full_clean()

    assert amount_in_smallest_unit(product.price, ORDER_MAX_QUANTITY, currency) <= 99_999_999


@pytest.mark.parametrize(("price", "currency"), ONE_STEP_ABOVE)
def test_full_clean_refuses_one_step_above_the_highest_price(price, currency):
    with pytest.raises(ValidationError) as refusal:
        unsaved(price, currency).full_clean()

    assert "over Stripe's maximum charge" in " ".join(refusal.value.message_dict["price"])


@pytest.mark.parametrize("currency", ["JPY", "Usd", "us", "euro", "$$$", "12a", ""])
def test_a_currency_is_a_lowercase_three_letter_code(currency):
    with pytest.raises(ValidationError) as refusal:
        unsaved("12.50", currency).full_clean()

    assert "currency" in refusal.value.message_dict


# -- the admin ----------------------------------------------------------------------------

ADD_PRODUCT = "/admin/catalog/product/add/"


def product_form(**fields):
    return {
        "name": "Yen Mug",
        "description": "",
        "price": "12.50",
        "currency": "jpy",
        "image_url": "",
        "active": "on",
        **fields,
    }


@pytest.mark.parametrize(
    ("price", "currency"),
    [("12.50", "jpy"), ("5.50", "isk"), ("9999999.99", "usd"), ("100000.00", "usd")],
)
def test_the_admin_shows_the_error_on_the_price_and_saves_nothing(admin_client, price, currency):
    response = admin_client.post(ADD_PRODUCT, product_form(price=price, currency=currency))

    assert response.status_code == 200  # the form again, not a redirect
    form = response.context["adminform"].form
    assert list(form.errors) == ["price"]
    [message] = form.errors["price"]
    assert message.startswith("Cannot be sold")
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert Product.objects.count() == 0


def test_the_admin_refuses_an_upper_case_currency(admin_client):
    response = admin_client.post(ADD_PRODUCT, product_form(price="1250", currency="JPY"))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["currency"]
    assert Product.objects.count() == 0


def test_the_admin_saves_a_sellable_price(admin_client):
    response = admin_client.post(ADD_PRODUCT, product_form(price="1250", currency="jpy"))

    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.price, product.currency) == (Decimal("1250"), "jpy")


def test_the_admin_form_explains_the_rule(admin_client):
    page = admin_client.get(ADD_PRODUCT).content.decode()

    assert "Whole units where Stripe charges no decimals" in page
    assert "At most 99999.99 usd (9999999 jpy, 9999.99 kwd)" in page


# -- seed_products ------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["usd", "jpy", "krw", "isk", "ugx", "kwd", "huf"])
def test_seed_products_makes_a_catalog_that_sells_in_the_shops_currency(settings, currency):
    settings.STRIPE_CURRENCY = currency

    call_command("seed_products", stdout=StringIO())

    products = list(Product.objects.all())
    assert len(products) == len(DEMO_CATALOG)
    for product in products:
        assert product.currency == currency
        product.full_clean()
        amount_in_smallest_unit(product.price, ORDER_MAX_QUANTITY, product.currency)


@pytest.mark.parametrize(
    ("currency", "mug", "t_shirt"),
    [("usd", "12.50", "19.99"), ("kwd", "12.50", "19.99"), ("jpy", "1250", "1999")],
)
def test_whole_unit_currencies_get_the_demo_prices_without_the_decimal_point(
    settings, currency, mug, t_shirt
):
    settings.STRIPE_CURRENCY = currency

    call_command("seed_products", stdout=StringIO())

    assert Product.objects.get(name="Stripe Demo Mug").price == Decimal(mug)
    assert Product.objects.get(name="Idempotent T-shirt").price == Decimal(t_shirt)


def test_seed_products_refuses_a_currency_that_is_not_a_code_and_saves_nothing(settings):
    settings.STRIPE_CURRENCY = "euro"

    with pytest.raises(CommandError, match="STRIPE_CURRENCY='euro': cannot sell"):
        call_command("seed_products", stdout=StringIO())

    assert Product.objects.count() == 0


def test_seed_products_moves_an_existing_catalog_to_the_new_currency(settings):
    call_command("seed_products", stdout=StringIO())
    settings.STRIPE_CURRENCY = "jpy"

    call_command("seed_products", stdout=StringIO())

    assert Product.objects.count() == len(DEMO_CATALOG)
    assert set(Product.objects.values_list("currency", flat=True)) == {"jpy"}


def test_a_seeded_yen_catalog_sells_ten_mugs(settings, shopper_api, devstripe):
    # Before: 12.50 jpy was seeded, and every order of it was a 500.
    settings.STRIPE_CURRENCY = "jpy"
    call_command("seed_products", stdout=StringIO())
    mug = Product.objects.get(name="Stripe Demo Mug")

    response = shopper_api.post(
        "/api/order/", {"product": mug.id, "quantity": 10, "token": "tok_visa"}, format="json"
    )

    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["order"]["id"])
    assert (order.status, order.amount, order.currency) == ("PAID", 12500, "jpy")


# -- the database: the same rules for writes that skip validation -------------------------


def refused_by_the_database(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()
    return True


@pytest.mark.parametrize(("price", "currency"), UNSELLABLE + ONE_STEP_ABOVE)
def test_the_database_refuses_a_price_stripe_cannot_charge(price, currency):
    if price == "5.125" and connection.vendor == "mysql":
        pytest.skip("MariaDB rounds 5.125 to the column's two decimals before any check")

    assert refused_by_the_database(
        lambda: Product.objects.create(name="Bad", price=Decimal(price), currency=currency)
    )
    assert Product.objects.count() == 0


@pytest.mark.parametrize(("price", "currency"), UNSELLABLE + ONE_STEP_ABOVE)
def test_an_update_cannot_change_a_price_to_one_stripe_cannot_charge(price, currency):
    if price == "5.125" and connection.vendor == "mysql":
        pytest.skip("MariaDB rounds 5.125 to the column's two decimals before any check")
    product = Product.objects.create(name="Good", price=Decimal("12.00"), currency=currency)

    assert refused_by_the_database(
        lambda: Product.objects.filter(pk=product.pk).update(price=Decimal(price))
    )
    product.refresh_from_db()
    assert product.price == Decimal("12.00")


def test_a_price_with_more_decimals_than_the_column_never_reaches_an_order_unchargeable():
    # SQLite keeps what it is given, so the database refuses it; MariaDB rounds it to the
    # column's two decimals. Either way what is stored can be charged.
    try:
        with transaction.atomic():
            Product.objects.create(name="Dinar Mug", price=Decimal("5.125"), currency="kwd")
    except IntegrityError:
        assert connection.vendor == "sqlite"
        assert Product.objects.count() == 0
    else:
        assert connection.vendor == "mysql"
        stored = Product.objects.get(name="Dinar Mug").price
        assert stored == Decimal("5.13")
        assert amount_in_smallest_unit(stored, ORDER_MAX_QUANTITY, "kwd") == 51300


@pytest.mark.parametrize("currency", ["JPY", "Usd"])
def test_the_database_refuses_an_upper_case_currency(currency):
    if connection.vendor == "mysql":
        # MariaDB compares case-insensitively (utf8mb4_unicode_ci): "JPY" is in the list
        # of zero-decimal currencies there, so it is held to their rules instead.
        Product.objects.create(name="Yen Mug", price=Decimal("1250"), currency="JPY")
        assert refused_by_the_database(
            lambda: Product.objects.create(name="Bad", price=Decimal("12.50"), currency="JPY")
        )
        return

    assert refused_by_the_database(
        lambda: Product.objects.create(name="Bad", price=Decimal("1250"), currency=currency)
    )


@pytest.mark.parametrize(("price", "currency"), HIGHEST)
def test_the_database_takes_the_highest_price_of_each_kind_of_currency(price, currency):
    Product.objects.create(name="Dear", price=Decimal(price), currency=currency)

    assert Product.objects.get(name="Dear").price == Decimal(price)


@pytest.mark.parametrize(
    ("price", "currency"),
    [("0.01", "usd"), ("19.99", "eur"), ("1", "jpy"), ("1250", "krw"), ("7", "isk")]
    + [("5.12", "kwd"), ("0.10", "bhd"), ("10.45", "huf")],
)
def test_the_database_takes_ordinary_prices(price, currency):
    Product.objects.create(name="Fine", price=Decimal(price), currency=currency)


# -- the migration that adds the constraints ---------------------------------------------

BEFORE = [("catalog", "0001_initial")]
AFTER = [("catalog", "0002_prices_stripe_can_charge")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_the_products_to_fix_and_adds_nothing_until_they_are():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    OldProduct = executor.loader.project_state(BEFORE).apps.get_model("catalog", "Product")
    try:
        OldProduct.objects.create(name="Yen Mug", price=Decimal("12.50"), currency="jpy")
        OldProduct.objects.create(name="Dear", price=Decimal("9999999.99"), currency="usd")
        OldProduct.objects.create(name="Fine", price=Decimal("19.99"), currency="usd")

        with pytest.raises(RuntimeError) as refusal:
            MigrationExecutor(connection).migrate(AFTER)

        message = str(refusal.value)
        assert "'Yen Mug': 12.50 'jpy' (This currency is charged in whole units" in message
        assert "'Dear': 9999999.99 'usd' (10 units at this price are over" in message
        assert "Fine" not in message
        assert "run migrate again" in message
        assert OldProduct.objects.count() == 3  # nothing changed behind the operator's back

        OldProduct.objects.filter(name="Yen Mug").update(price=Decimal("1250"))
        OldProduct.objects.filter(name="Dear").update(price=Decimal("99999.99"))
        MigrationExecutor(connection).migrate(AFTER)
        assert refused_by_the_database(
            lambda: Product.objects.filter(name="Fine").update(currency="jpy")
        )
    finally:
        Product.objects.all().delete()
        MigrationExecutor(connection).migrate(latest)
