/* The card pop-up: a Bootstrap modal with the product, a quantity, Stripe's card
 * Element and a Pay button.
 *
 * One click on Pay is one purchase attempt with its own Idempotency-Key. While it is
 * in flight the button is disabled and the pop-up cannot be closed, so a double click
 * submits once. An answer with an order (paid, declined, refused) ends the attempt: a
 * decline shows Stripe's message and the next Pay is a new attempt (a new order). An
 * answer that leaves the outcome open (no answer, a timeout, a 409 or a 5xx without an
 * order) keeps the attempt, so pressing Pay again retries it with the same token and
 * key. Changing the card or the quantity starts a new attempt.
 */
(function (Shop, $) {
  'use strict';

  const $modal = $('#buy-modal');
  const $form = $('#pay-form');
  const $pay = $form.find('.pay-button');
  const $quantity = $('#buy-quantity');
  const $error = $form.find('.pay-error');
  const $cardBox = $('#card-element');
  let modal = null;
  // The API's limit per order (settings.ORDER_MAX_QUANTITY).
  const MAX_QUANTITY = 10;

  let product = null; // the product in the pop-up
  let trigger = null; // the button that opened it, focused again when it closes
  let attempt = null; // the current purchase attempt, until it gets an answer
  let paying = false;
  let cardReady = false;

  function showError(message) {
    $error.empty();
    if (message) $error.append(Shop.ui.alert(message).addClass('mb-0'));
  }

  function updateTotal() {
    const quantity = Number($quantity.val()) || 1;
    const total = Shop.format.priceToAmount(product.price, product.currency) * quantity;
    const formatted = Shop.format.money(total, product.currency);
    $form.find('.buy-total').text(formatted);
    $form.find('.pay-label').text(`Pay ${formatted}`);
  }

  function updatePayButton() {
    $pay.prop('disabled', paying || !cardReady);
  }

  function setPaying(isPaying) {
    paying = isPaying;
    Shop.ui.busy($pay, isPaying);
    updatePayButton();
    $quantity.prop('disabled', isPaying);
    $modal.find('[data-bs-dismiss="modal"]').prop('disabled', isPaying);
  }

  function onCardChange(event) {
    $cardBox.toggleClass('invalid', Boolean(event.error));
    showError(event.error ? event.error.message : '');
    if (!paying) attempt = null; // different card details: a new attempt
  }

  function prepareCard() {
    if (cardReady) return;
    Shop.payment.mountCard($cardBox[0], onCardChange)
      .then((card) => {
        card.on('focus', () => $cardBox.addClass('focused'));
        card.on('blur', () => $cardBox.removeClass('focused'));
        $cardBox.find('.card-loading').remove();
        cardReady = true;
        updatePayButton();
        if ($modal.hasClass('show')) Shop.payment.focusCard();
      })
      .catch(() => {
        $cardBox.find('.card-loading').text('The card form is unavailable.');
        showError('Card payments are unavailable right now: Stripe.js could not be loaded. '
          + 'Please try again later.');
      });
  }

  /* Opens the pop-up for `item` (a product from /api/product/). */
  function open(item, opener) {
    product = item;
    trigger = opener || null;
    attempt = null;
    $form.find('.buy-image').attr('src', Shop.ui.imageUrl(item.image_url));
    $form.find('.buy-name').text(item.name);
    $form.find('.buy-price').text(`${Shop.format.price(item.price, item.currency)} each`);
    $quantity.val('1');
    updateTotal();
    showError('');
    $form.find('.test-cards').prop('hidden', !/^pk_test_/.test(Shop.config.stripePublishableKey || ''));
    modal.show();
    prepareCard();
  }

  /* Paid: close the pop-up and show the order. Pay stays disabled (and its spinner on)
     until the pop-up has closed; `paying` drops only to let it close. */
  function finishWithOrder(order) {
    Shop.orders.remember(order);
    Shop.payment.clearCard();
    paying = false;
    trigger = null;
    modal.hide();
    Shop.app.navigate(`/orders/${order.id}`);
  }

  /* Did the shop decide this attempt? An answer with an order does, and so does a
     refusal of the request itself (a 4xx). No answer, a 409 (the same attempt is still
     being processed) or a 5xx without an order leaves the outcome open. */
  function attemptSettled(error) {
    if (error.body && error.body.order) return true;
    return error.status >= 400 && error.status < 500 && error.status !== 409;
  }

  function pay() {
    if (paying || !cardReady || !product || !$modal.hasClass('show')) return;
    const quantity = Number($quantity.val()) || 1;
    if (!attempt) {
      attempt = {
        key: Shop.payment.newAttemptKey(), productId: product.id, quantity, token: null,
      };
    }
    setPaying(true);
    showError('');
    Shop.payment.payForOrder(attempt)
      .then(({ body }) => {
        attempt = null;
        finishWithOrder(body.order);
      })
      .catch((error) => {
        setPaying(false);
        if (error.handled) return; // logged out: the app took over
        if (error instanceof Shop.payment.CardError) {
          showError(error.message);
          Shop.payment.focusCard();
          return;
        }
        if (error.body && error.body.order) Shop.orders.remember(error.body.order);
        if (attemptSettled(error)) {
          attempt = null;
          showError(error.message);
        } else {
          showError(`${error.message} Pressing Pay again retries the same payment.`);
        }
        Shop.payment.focusCard();
      });
  }

  function init() {
    modal = bootstrap.Modal.getOrCreateInstance($modal[0]);
    for (let n = 1; n <= MAX_QUANTITY; n += 1) $quantity.append($('<option></option>').val(n).text(n));

    $form.on('submit', (event) => {
      event.preventDefault();
      pay();
    });
    $quantity.on('change', () => {
      attempt = null;
      updateTotal();
    });
    $modal.on('shown.bs.modal', () => {
      if (cardReady) Shop.payment.focusCard();
      else $quantity.trigger('focus');
    });
    $modal.on('hide.bs.modal', (event) => {
      if (paying) event.preventDefault(); // never close on a payment in flight
    });
    $modal.on('hidden.bs.modal', () => {
      setPaying(false);
      showError('');
      if (trigger && document.body.contains(trigger)) trigger.focus();
      trigger = null;
      product = null;
      attempt = null;
    });
    // Start loading Stripe.js early: the pop-up then opens with the card form ready.
    Shop.payment.load().catch(() => {});
  }

  Shop.buy = {
    init,
    open,
    close: () => modal && modal.hide(),
    isOpen: () => $modal.hasClass('show'),
    productId: () => (product ? product.id : null),
    /* Closes it even with a payment in flight (the session ended). */
    forceClose() {
      paying = false;
      if (modal) modal.hide();
    },
  };
})(window.Shop = window.Shop || {}, jQuery);
