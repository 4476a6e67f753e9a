/* The card pop-up: a Bootstrap modal with the product, a quantity, Stripe's card
 * Element and a Pay button; Shop.payment.payForOrder does the paying.
 *
 * One click on Pay is one purchase attempt with its own Idempotency-Key. While it is
 * in flight (the bank's 3-D Secure step included) the button is disabled and the pop-up
 * cannot be closed, so a double click submits once. The pop-up says what is happening:
 * the bank's step, then the shop confirming, or waiting for the bank.
 *
 * An answer with an order ends the attempt. Paid: the "payment submitted" page. Failed
 * (declined, or the authentication failed): Stripe's message, the card form emptied, and
 * the next Pay is a new attempt on the same order (another card, POST …/pay/). Still
 * pending after the bank's step: if the bank waits for the shopper, Pay shows the step
 * again (or another card pays the same order); if the bank has not decided, the order's
 * page ("Payment pending"). An answer that leaves the outcome open (no answer, a
 * timeout, a 409 or a 5xx without an order) keeps the attempt, so pressing Pay again
 * retries it with the same PaymentMethod and key. Changing the card starts a new
 * attempt; changing the quantity starts a new attempt on a new order.
 */
(function (Shop, $) {
  'use strict';

  const $modal = $('#buy-modal');
  const $form = $('#pay-form');
  const $pay = $form.find('.pay-button');
  const $quantity = $('#buy-quantity');
  const $error = $form.find('.pay-error');
  const $status = $form.find('.pay-status');
  const $cardBox = $('#card-element');
  let modal = null;
  // The API's limit per order (settings.ORDER_MAX_QUANTITY).
  const MAX_QUANTITY = 10;

  let product = null; // the product in the pop-up
  let trigger = null; // the button that opened it, focused again when it closes
  let attempt = null; // the current purchase attempt, until it gets an answer
  let unpaidOrderId = null; // this pop-up's order that failed or awaits the bank: pay it again
  let paying = false;
  let cardReady = false;

  function showError(message) {
    $error.empty();
    if (message) $error.append(Shop.ui.alert(message).addClass('mb-0'));
  }

  const STEPS = {
    authenticate: 'Your bank asks you to confirm this payment: complete its check in the window that opened.',
    confirm: 'Confirming the payment with the shop…',
    waiting: 'Waiting for your bank to confirm the payment…',
  };

  /* What the payment is doing now (a step name from payForOrder, or a sentence). */
  function showStatus(step, type = 'info') {
    $status.empty();
    if (step) $status.append(Shop.ui.alert(STEPS[step] || step, type).addClass('mb-0 mt-3'));
  }

  /* Stripe.js shows the bank's step in its own frame over the page, outside this pop-up,
     whose focus trap (Bootstrap's, listening on document) would pull the focus back:
     a keyboard user could never reach the bank's buttons. While the step shows, focus
     moving outside the pop-up is kept from that trap. */
  function keepFocusOutside(event) {
    if (!$modal[0].contains(event.target)) event.stopImmediatePropagation();
  }

  function onStep(step) {
    if (step === 'authenticate') window.addEventListener('focusin', keepFocusOutside, true);
    else window.removeEventListener('focusin', keepFocusOutside, true);
    showStatus(step);
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
    // Emptying the form after a failure keeps its message; typing a card clears it.
    if (event.error) showError(event.error.message);
    else if (!event.empty) showError('');
    if (!paying) {
      attempt = null; // different card details: a new attempt
      if (!event.empty) showStatus('');
    }
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
    unpaidOrderId = null;
    $form.find('.buy-image').attr('src', Shop.ui.imageUrl(item.image_url));
    $form.find('.buy-name').text(item.name);
    $form.find('.buy-price').text(`${Shop.format.price(item.price, item.currency)} each`);
    $quantity.val('1');
    updateTotal();
    showError('');
    showStatus('');
    $form.find('.test-cards').prop('hidden', !/^pk_test_/.test(Shop.config.stripePublishableKey || ''));
    modal.show();
    prepareCard();
  }

  /* Paid (or left pending with the bank): close the pop-up and show the order. Pay stays
     disabled (and its spinner on) until the pop-up has closed; `paying` drops only to
     let it close. */
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
     being processed) or a 5xx without an order leaves the outcome open; so does anything
     but a 4xx from confirm/ after the bank's step (the order may well be paid by now). */
  function attemptSettled(error) {
    const is4xx = error.status >= 400 && error.status < 500;
    if (attempt && attempt.action && attempt.action.shown) return is4xx && error.status !== 409;
    if (error.body && error.body.order) return true;
    return is4xx && error.status !== 409;
  }

  function isPaid(order) {
    return order.status === 'PAID' || order.status === 'REFUNDED';
  }

  /* The API answered 2xx: paid, or still pending after the bank's step. */
  function onAnswer({ body }) {
    const { order } = body;
    if (isPaid(order) || !body.requires_action) {
      attempt = null;
      finishWithOrder(order); // paid, or the bank has not decided yet: "Payment pending"
      return;
    }
    // The bank still waits for the shopper: Pay shows its step again (the same attempt),
    // and another card pays this same order.
    unpaidOrderId = order.id;
    setPaying(false);
    showStatus('Your bank is still waiting for you to confirm this payment. Press Pay to '
      + 'open its check again, or enter another card.', 'warning');
    Shop.payment.focusCard();
  }

  function onFailure(error) {
    showStatus('');
    const order = error.body && error.body.order;
    if (order && isPaid(order)) { // pay/ found the order paid (a retry after a lost answer)
      attempt = null;
      finishWithOrder(order);
      return;
    }
    setPaying(false);
    if (error.handled) return; // logged out: the app took over
    if (error instanceof Shop.payment.CardError) {
      showError(error.message);
      Shop.payment.focusCard();
      return;
    }
    if (order) Shop.orders.remember(order);
    if (attemptSettled(error)) {
      attempt = null;
      if (order && order.status === 'FAILED') {
        // Another card pays this same order; the form is emptied for it.
        unpaidOrderId = order.id;
        Shop.payment.clearCard();
      }
      showError(error.message);
    } else {
      showError(`${error.message} Pressing Pay again retries the same payment.`);
    }
    Shop.payment.focusCard();
  }

  function pay() {
    if (paying || !cardReady || !product || !$modal.hasClass('show')) return;
    const quantity = Number($quantity.val()) || 1;
    if (!attempt) {
      attempt = {
        key: Shop.payment.newAttemptKey(),
        productId: product.id,
        quantity,
        orderId: unpaidOrderId, // set: another card for that order
        paymentMethod: null,
        action: null,
      };
    }
    setPaying(true);
    showError('');
    showStatus('');
    Shop.payment.payForOrder(attempt, onStep)
      .finally(() => window.removeEventListener('focusin', keepFocusOutside, true))
      .then(onAnswer, onFailure);
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
      unpaidOrderId = null; // another quantity is another order
      updateTotal();
    });
    $modal.on('shown.bs.modal', () => {
      if (paying) return; // paid before the pop-up finished opening: leave the focus be
      if (cardReady) Shop.payment.focusCard();
      else $quantity.trigger('focus');
    });
    $modal.on('hide.bs.modal', (event) => {
      if (paying) event.preventDefault(); // never close on a payment in flight
    });
    $modal.on('hidden.bs.modal', () => {
      setPaying(false);
      showError('');
      showStatus('');
      if (trigger && document.body.contains(trigger)) trigger.focus();
      trigger = null;
      product = null;
      attempt = null;
      unpaidOrderId = null;
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
