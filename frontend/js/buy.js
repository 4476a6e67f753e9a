/* The payment pop-up: a Bootstrap modal with the product, a quantity, Stripe's Payment
 * Element (a card, or another payment method Stripe offers for the amount) and a Pay
 * button; Shop.payment.payForOrder does the paying. "Buy" opens it for a new order
 * (open); "Pay now" on a failed order opens it for that same order (openForOrder), its
 * product and quantity fixed. The Element is told the amount whenever it changes.
 *
 * One click on Pay is one purchase attempt with its own Idempotency-Key. While it is
 * in flight (the bank's 3-D Secure step included) the button is disabled and the pop-up
 * cannot be closed, so a double click submits once. The pop-up says what is happening:
 * the bank's step, then the shop confirming, or waiting for the bank. A payment method
 * that confirms on a page of its own (a bank's, a wallet's) leaves the shop, and comes
 * back to the order's page (js/app.js).
 *
 * Paid: the order confirmation page. Processing (e.g. a bank debit, settled later by
 * webhook): the order's page, which says so and updates by itself. Failed (declined, or
 * the authentication failed): Stripe's message, the payment form emptied, and the next
 * Pay is a new attempt on the same order (another card or method, POST …/pay/). Still
 * pending after the bank's step: if the bank waits for the shopper, Pay shows the step
 * again (or another card pays the same order).
 *
 * An outcome nobody knows yet is never shown as a failure, and never leaves a Pay that
 * could place a second order: a 503, a timeout, a lost connection or a 409 "still in
 * progress", once the order is known, closes the pop-up for the order's page ("Payment
 * pending — confirming with Stripe"), which asks the shop until Stripe has decided.
 * Only while no order is known at all (POST /api/order/ got no answer) does the attempt
 * stay here, and Pay retries it with the same ConfirmationToken and key: the shop replays
 * it, never places another order. So does a lost answer from confirm/ after the bank's
 * step: asking confirm/ again can neither place an order nor charge the card.
 *
 * A 429 (too many payment attempts) keeps the attempt too, with Pay off for the shop's
 * Retry-After; a 409 refusing this order ("place a new order") turns Pay off. Changing
 * the payment details starts a new attempt; changing the quantity starts a new attempt
 * on a new order.
 */
(function (Shop, $) {
  'use strict';

  const $modal = $('#buy-modal');
  const $form = $('#pay-form');
  const $pay = $form.find('.pay-button');
  const $quantity = $('#buy-quantity');
  const $error = $form.find('.pay-error');
  const $advice = $form.find('.pay-advice');
  const $status = $form.find('.pay-status');
  const $formBox = $('#payment-element');
  let modal = null;

  let product = null; // the product in the pop-up
  let fixedOrder = null; // the failed order "Pay now" opened it for (no new order then)
  let trigger = null; // the button that opened it, focused again when it closes
  let attempt = null; // the current purchase attempt, until it gets an answer
  let unpaidOrderId = null; // this pop-up's order that failed or awaits the bank: pay it again
  let paying = false;
  let formReady = false;
  let formUnavailable = false;
  let opened = false; // the pop-up has finished opening (Bootstrap's shown.bs.modal)
  let refused = false; // the shop takes no payment for this order any more
  let coolDown = null; // timer while Pay waits out a 429's Retry-After
  // The longest a 429 keeps Pay off, whatever Retry-After says.
  const MAX_COOL_DOWN_S = 120;

  /* The payment's problem, right under the payment form (in space kept for it, so the
     pop-up does not jump); `advice` says what to do next, e.g. after a decline. */
  function showError(message, advice = '') {
    $error.text(message || '');
    $advice.text(message ? advice : '');
  }

  const TRY_ANOTHER_CARD = 'Try another card or payment method, or ask your bank why it refused this payment.';
  // The Payment Element shows what is wrong next to the field itself.
  const CHECK_THE_DETAILS = 'Please check the payment details above.';

  const STEPS = {
    authenticate: 'Your bank asks you to confirm this payment: complete its check in the window '
      + 'that opened, or on the page it takes you to.',
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

  /* What Pay pays: {amount (the smallest unit), currency}. A failed order is paid again
     for its own amount, not today's price × quantity. */
  function price() {
    if (fixedOrder) return { amount: fixedOrder.amount, currency: String(fixedOrder.currency).toLowerCase() };
    const quantity = Number($quantity.val()) || 1;
    return {
      amount: Shop.format.priceToAmount(product.price, product.currency) * quantity,
      currency: String(product.currency).toLowerCase(),
    };
  }

  /* The total, on Pay and for the Payment Element (whose methods depend on it). */
  function updateTotal() {
    const { amount, currency } = price();
    const formatted = Shop.format.money(amount, currency);
    $form.find('.buy-total').text(formatted);
    $form.find('.pay-label').text(`Pay ${formatted}`);
    Shop.payment.setAmount({ amount, currency });
  }

  function updatePayButton() {
    $pay.prop('disabled', paying || !formReady || refused || Boolean(coolDown));
  }

  function setPaying(isPaying) {
    paying = isPaying;
    Shop.ui.busy($pay, isPaying);
    // Words with the spinner, and payment details that cannot change under a payment.
    if (isPaying) $form.find('.pay-label').text('Paying…');
    else if (product) updateTotal();
    Shop.payment.lockForm(isPaying);
    updatePayButton();
    $quantity.prop('disabled', isPaying || Boolean(fixedOrder));
    $modal.find('[data-bs-dismiss="modal"]').prop('disabled', isPaying);
  }

  function endCoolDown() {
    clearTimeout(coolDown);
    coolDown = null;
    updatePayButton();
  }

  /* The Payment Element's change events ({empty, complete, value: {type}}): it shows
     its own messages about what was typed, next to the field. */
  function onFormChange(event) {
    // Emptying the form after a failure keeps its message; typing clears it.
    if (!event.empty) showError('');
    if (!paying) {
      attempt = null; // different payment details: a new attempt
      if (!event.empty) showStatus('');
    }
  }

  function prepareForm() {
    if (formReady) return;
    Shop.payment.mountForm($formBox[0], price(), onFormChange)
      .then(() => {
        if (product) Shop.payment.setAmount(price()); // the quantity may have changed meanwhile
        $formBox.find('.form-loading').remove();
        formReady = true;
        formUnavailable = false;
        updatePayButton();
        settleFocus();
      })
      .catch(() => {
        formUnavailable = true;
        settleFocus();
        $formBox.find('.form-loading').text('The payment form is unavailable.');
        showError('Payments are unavailable right now.',
          'Please try again in a few minutes. Nothing was charged.');
      });
  }

  function show(item, opener, quantity, priceLine) {
    // Details typed for another product, or before Cancel, never show up again.
    Shop.payment.clearForm();
    product = item;
    trigger = opener || null;
    attempt = null;
    refused = false;
    $form.find('.buy-image').attr('src', Shop.ui.imageUrl(item.image_url));
    $form.find('.buy-name').text(item.name);
    $form.find('.buy-price').text(priceLine);
    if (!$quantity.find(`option[value="${quantity}"]`).length) {
      $quantity.append($('<option></option>').val(quantity).text(quantity));
    }
    $quantity.val(String(quantity)).prop('disabled', Boolean(fixedOrder));
    updateTotal();
    showError('');
    showStatus('');
    updatePayButton();
    $form.find('.test-cards').prop('hidden', !/^pk_test_/.test(Shop.config.stripePublishableKey || ''));
    // Busy until it has opened and the payment form is ready: see settleFocus.
    $modal.attr('aria-busy', 'true');
    modal.show();
    prepareForm();
  }

  /* Bootstrap moves the focus into the pop-up when its opening animation ends, and the
     payment form takes it once Stripe.js has mounted it: keystrokes typed before both
     happened could land in another field. So the pop-up says it is busy until then, and
     nothing moves the focus afterwards. */
  function settleFocus() {
    if (!opened || $modal.attr('aria-busy') !== 'true') return;
    if (!paying) {
      if (formReady) Shop.payment.focusForm();
      else $quantity.trigger('focus');
    }
    if (formReady || formUnavailable) $modal.removeAttr('aria-busy');
  }

  /* Opens the pop-up for `item` (a product from /api/product/): a new order, of
     `quantity` (1 unless a product page or a login on the way chose another). */
  function open(item, opener, quantity = 1) {
    fixedOrder = null;
    unpaidOrderId = null;
    const wanted = Math.min(Math.max(Number(quantity) || 1, 1), Shop.config.maxQuantity);
    show(item, opener, wanted, `${Shop.format.price(item.price, item.currency)} each`);
  }

  /* Opens the pop-up for a failed order (from /api/order/): another card or method pays
     that same order (pay/), so its product and quantity cannot change here. */
  function openForOrder(order, opener) {
    fixedOrder = order;
    unpaidOrderId = order.id;
    show(order.product, opener, order.quantity, `Order #${order.id}, failed: pay it again`);
  }

  /* Closes the pop-up for the order's own page: paid, processing or pending with the
     bank, or of unknown outcome (`pending`: the page then confirms it with the shop). `order` may
     be null when only its id is known. Pay stays disabled (and its spinner on) until
     the pop-up has closed; `paying` drops only to let it close. */
  function leaveForOrder(orderId, order, pending) {
    if (order) Shop.orders.remember(order, { pending });
    else Shop.orders.rememberPending(orderId);
    Shop.payment.clearForm();
    attempt = null;
    paying = false;
    trigger = null;
    modal.hide();
    Shop.app.navigate(`/orders/${orderId}`);
  }

  function isPaid(order) {
    return order.status === 'PAID' || order.status === 'REFUNDED';
  }

  /* Nobody knows yet whether this attempt paid: no answer (a lost connection or a
     timeout), a 5xx (the shop could not hear from Stripe), or a 409 that leaves the
     order open (the same payment is still in progress, or an earlier one's outcome is
     unknown). A 409 about a failed order nothing is paying refuses this payment. */
  function outcomeUnknown(error) {
    if (error.status === 0 || error.status >= 500) return true;
    if (error.status !== 409) return false;
    const order = error.body && error.body.order;
    return !(order && order.status === 'FAILED' && !order.payment_pending);
  }

  /* The order this attempt is about, if known: from the answer, or from the attempt. */
  function knownOrderId(error, current) {
    const body = error.body || {};
    if (body.order) return body.order.id;
    if (body.order_id) return Number(body.order_id);
    if (current.action) return current.action.orderId;
    return current.orderId || null;
  }

  /* The bank's step is done and only confirm/'s answer was lost: Pay asks confirm/ again
     (see the top of this file). */
  function confirmUnanswered(error, current) {
    return error.status === 0 && Boolean(current.action && current.action.shown);
  }

  /* The API answered 2xx: paid, processing, or still pending after the bank's step. */
  function onAnswer({ body }) {
    const { order } = body;
    if (isPaid(order) || !body.requires_action) {
      // Paid, processing (the page follows it), or the outcome is not known yet (the
      // page confirms it with the shop).
      leaveForOrder(order.id, order, !isPaid(order));
      return;
    }
    // The bank still waits for the shopper: Pay shows its step again (the same attempt),
    // and another card pays this same order.
    unpaidOrderId = order.id;
    setPaying(false);
    showStatus('Your bank is still waiting for you to confirm this payment. Press Pay to '
      + 'open its check again, or enter another card.', 'warning');
    Shop.payment.focusForm();
  }

  /* 429: the shop counts payment attempts. Not a failure: the attempt (its key and
     ConfirmationToken) is kept for when Pay comes back on, after the shop's Retry-After. */
  function tooManyAttempts(error) {
    showStatus(error.message, 'warning');
    const seconds = Math.min(error.retryAfter, MAX_COOL_DOWN_S);
    if (seconds > 0) {
      clearTimeout(coolDown);
      coolDown = setTimeout(endCoolDown, seconds * 1000);
      updatePayButton();
    }
  }

  /* The shop decided this attempt: declined, refused, or it takes no payment for this
     order any more (a 409 "place a new order"). */
  function attemptRefused(error, order) {
    attempt = null;
    if (error.status === 409) {
      refused = true;
      updatePayButton();
    } else if (order && order.status === 'FAILED') {
      // Another card or method pays this same order; the form is emptied for it.
      unpaidOrderId = order.id;
      Shop.payment.clearForm();
      showError(error.message, TRY_ANOTHER_CARD);
      return;
    }
    showError(error.message);
  }

  function onFailure(error, current) {
    showStatus('');
    const order = error.body && error.body.order;
    if (order && isPaid(order)) { // pay/ found the order paid (a retry after a lost answer)
      leaveForOrder(order.id, order, false);
      return;
    }
    if (error.handled) { // logged out: the app took over
      setPaying(false);
      return;
    }
    const orderId = outcomeUnknown(error) ? knownOrderId(error, current) : null;
    if (orderId && !confirmUnanswered(error, current)) {
      leaveForOrder(orderId, order, true); // "Payment pending — confirming with Stripe"
      return;
    }
    setPaying(false);
    if (error instanceof Shop.payment.DetailsError) {
      // Stripe.js refused the details (e.g. an incomplete number): nothing was sent.
      showError(error.shownInForm ? CHECK_THE_DETAILS : error.message);
    } else if (error.status === 429) {
      tooManyAttempts(error);
    } else if (outcomeUnknown(error)) {
      showError(`${error.message} Pressing Pay again retries the same payment.`);
    } else {
      attemptRefused(error, order);
    }
    Shop.payment.focusForm();
  }

  function pay() {
    if (paying || !formReady || !product || !$modal.hasClass('show')) return;
    const quantity = Number($quantity.val()) || 1;
    if (!attempt) {
      attempt = {
        key: Shop.payment.newAttemptKey(),
        productId: product.id,
        quantity,
        orderId: unpaidOrderId, // set: another try for that order
        confirmationToken: null,
        action: null,
      };
    }
    const current = attempt;
    setPaying(true);
    showError('');
    showStatus('');
    Shop.payment.payForOrder(current, onStep)
      .finally(() => window.removeEventListener('focusin', keepFocusOutside, true))
      .then(onAnswer, (error) => onFailure(error, current));
  }

  function init() {
    modal = bootstrap.Modal.getOrCreateInstance($modal[0]);
    // The API's limit per order (settings.ORDER_MAX_QUANTITY), from config.json.
    for (let n = 1; n <= Shop.config.maxQuantity; n += 1) {
      $quantity.append($('<option></option>').val(n).text(n));
    }

    $form.on('submit', (event) => {
      event.preventDefault();
      pay();
    });
    $quantity.on('change', () => {
      attempt = null;
      unpaidOrderId = null; // another quantity is another order, which the shop may take
      refused = false;
      updatePayButton();
      updateTotal();
    });
    $modal.on('shown.bs.modal', () => {
      opened = true;
      settleFocus();
    });
    $modal.on('hide.bs.modal', (event) => {
      if (paying) event.preventDefault(); // never close on a payment in flight
    });
    $modal.on('hidden.bs.modal', () => {
      opened = false;
      $modal.removeAttr('aria-busy');
      fixedOrder = null;
      refused = false;
      clearTimeout(coolDown);
      coolDown = null;
      setPaying(false);
      showError('');
      showStatus('');
      // Payment details never outlive the pop-up (a shared computer, the next product).
      Shop.payment.clearForm();
      if (trigger && document.body.contains(trigger)) trigger.focus();
      trigger = null;
      product = null;
      attempt = null;
      unpaidOrderId = null;
    });
    // Back from a payment page with the browser's Back button, this page may come back
    // from the browser's back-forward cache as it was left: paying, waiting for a
    // redirect that is over. Its order's page asks the shop how it stands instead.
    window.addEventListener('pageshow', (event) => {
      if (event.persisted && paying && attempt && attempt.action) {
        leaveForOrder(attempt.action.orderId, null, true);
      }
    });
    // Start loading Stripe.js early: the pop-up then opens with the payment form ready.
    Shop.payment.load().catch(() => {});
  }

  Shop.buy = {
    init,
    open,
    openForOrder,
    close: () => modal && modal.hide(),
    isOpen: () => $modal.hasClass('show'),
    /* Where to come back to after logging in again: the order's page once this pop-up
       has an order (Pay there pays that same order), else the product's pop-up. */
    returnPath() {
      if (unpaidOrderId) return `/orders/${unpaidOrderId}`;
      return product ? `/buy/${product.id}/${Number($quantity.val()) || 1}` : null;
    },
    /* Closes it even with a payment in flight (the session ended). */
    forceClose() {
      paying = false;
      if (modal) modal.hide();
    },
  };
})(window.Shop = window.Shop || {}, jQuery);
