/* Stripe.js: loading it, the card Element, and paying for one order with a PaymentIntent.
 *
 * The only file that calls Stripe.js, and only with calls that exist in Stripe's real
 * Stripe.js v3 (Stripe(), elements(), create('card'), mount, on, focus, clear, update,
 * createPaymentMethod, handleNextAction), so the same code runs against Stripe and
 * against devstripe's stand-in. The card number stays inside Stripe's Element: this page
 * only ever sees the PaymentMethod's id (pm_…) and, when the card asks for 3-D Secure,
 * the PaymentIntent's client secret.
 *
 * Paying (payForOrder): createPaymentMethod → POST /api/order/ (or, with another card
 * for an order that failed, POST /api/order/<id>/pay/; both under the attempt's
 * Idempotency-Key) → if the answer says requires_action, handleNextAction shows the
 * bank's authentication step → POST /api/order/<id>/confirm/. The shop settles the
 * order from what Stripe says, never from what Stripe.js told this page, so confirm/ is
 * called whatever the step's outcome and its answer is the one that counts. The order's
 * page uses confirmOrder and showBankStep on their own for a payment still pending.
 */
(function (Shop) {
  'use strict';

  let loading = null;
  let stripe = null;
  let card = null;

  /* Loads Stripe.js from Shop.config.stripeJsUrl once; resolves with the Stripe object. */
  function load() {
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        if (window.Stripe) {
          resolve(window.Stripe);
          return;
        }
        const script = document.createElement('script');
        script.src = Shop.config.stripeJsUrl;
        script.async = true;
        script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('no Stripe')));
        script.onerror = () => reject(new Error('Stripe.js did not load'));
        document.head.appendChild(script);
      })
        .then((Stripe) => {
          stripe = stripe || Stripe(Shop.config.stripePublishableKey);
          return stripe;
        })
        .catch((error) => {
          loading = null; // the next call tries again
          throw error;
        });
    }
    return loading;
  }

  /* Mounts the card Element into `container` (once); `onChange` gets its change events. */
  function mountCard(container, onChange) {
    return load().then(() => {
      if (!card) {
        card = stripe.elements().create('card', {
          hidePostalCode: true,
          style: {
            base: {
              fontSize: '16px',
              color: '#212529',
              fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
              '::placeholder': { color: '#6c757d' },
            },
            invalid: { color: '#dc3545' },
          },
        });
        card.on('change', onChange);
        card.mount(container);
      }
      return card;
    });
  }

  function focusCard() {
    if (card) card.focus();
  }

  function clearCard() {
    if (card) card.clear();
  }

  let cardDisabled = false;

  /* Locks the card fields while a payment is in flight (Stripe's
     element.update({disabled})), and unlocks them after. */
  function disableCard(disabled) {
    if (!card || cardDisabled === Boolean(disabled)) return;
    cardDisabled = Boolean(disabled);
    card.update({ disabled: cardDisabled });
  }

  /* A fresh Idempotency-Key for one purchase attempt. crypto.randomUUID needs a secure
     context (https or localhost); an S3 website over http gets the same from
     getRandomValues. */
  function newAttemptKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  class CardError extends Error {}

  const ORDER_TIMEOUT = 90000; // longer than the server's Stripe timeout with its retries
  // How long to keep asking while the bank has not decided (confirm/ answers 202).
  const BANK_WAIT_MS = [1000, 2000, 3000, 4000, 5000];

  function wait(ms) {
    return new Promise((resolve) => { setTimeout(resolve, ms); });
  }

  /* The attempt's PaymentMethod id: made once per attempt, so a retry sends the same. */
  function paymentMethodFor(attempt) {
    if (attempt.paymentMethod) return Promise.resolve(attempt.paymentMethod);
    return stripe.createPaymentMethod({ type: 'card', card }).then((result) => {
      if (result.error) throw new CardError(result.error.message);
      attempt.paymentMethod = result.paymentMethod.id;
      return attempt.paymentMethod;
    });
  }

  /* A new order, or another card for attempt.orderId; both under the attempt's
     Idempotency-Key, so that a retry of the same attempt is answered, never done twice. */
  function submit(attempt, paymentMethod) {
    const options = { auth: true, headers: { 'Idempotency-Key': attempt.key }, timeout: ORDER_TIMEOUT };
    if (attempt.orderId) {
      return Shop.api.post(`/api/order/${attempt.orderId}/pay/`, { payment_method: paymentMethod }, options);
    }
    return Shop.api.post(
      '/api/order/',
      { product: attempt.productId, quantity: attempt.quantity, payment_method: paymentMethod },
      options,
    );
  }

  /* Asks the shop to settle an order from its PaymentIntent at Stripe. Harmless to repeat. */
  function confirmOrder(orderId) {
    return Shop.api.post(`/api/order/${orderId}/confirm/`, undefined, {
      auth: true, timeout: ORDER_TIMEOUT,
    });
  }

  /* confirm/ until the bank has decided (paid, failed, or it wants the shopper again),
     a few times at growing intervals; resolves with the last answer. */
  function settle(attempt, onStep) {
    const { orderId } = attempt.action;
    let waited = 0;
    const ask = () => confirmOrder(orderId).then((answer) => {
      if (answer.status !== 202) return answer; // 200 paid (402 failed rejects)
      if (answer.body.requires_action) {
        // Still waiting for the shopper: the next Pay shows the step again.
        attempt.action = { orderId, clientSecret: answer.body.client_secret, shown: false };
        return answer;
      }
      if (waited >= BANK_WAIT_MS.length) return answer; // still undecided: pending
      onStep('waiting');
      const delay = BANK_WAIT_MS[waited];
      waited += 1;
      return wait(delay).then(ask);
    });
    return ask();
  }

  /* The bank's step for a PaymentIntent's client secret, shown by Stripe.js over the
     page. Resolves when the step is over, whatever its outcome: only the shop's
     confirm/ says how the payment ended. */
  function showBankStep(clientSecret) {
    return load()
      .then(() => stripe.handleNextAction({ clientSecret }))
      .catch(() => null);
  }

  /* The bank's step (once per client secret), then confirm/. */
  function authenticate(attempt, onStep) {
    const { action } = attempt;
    if (action.shown) return settle(attempt, onStep); // a retry after confirm/ got no answer
    onStep('authenticate');
    return showBankStep(action.clientSecret)
      .then(() => {
        action.shown = true;
        onStep('confirm');
        return settle(attempt, onStep);
      });
  }

  /* Pays for one purchase attempt: {key, productId, quantity, orderId, paymentMethod, action}.
   *
   * Makes the attempt's PaymentMethod (stripe.createPaymentMethod) once, posts it: a new
   * order with the product and quantity under the attempt's Idempotency-Key, or, when
   * `orderId` is set, another card for that order (pay/). An answer with requires_action
   * is kept in `attempt.action` ({orderId, clientSecret}); the bank's step runs and then
   * confirm/ (polled a few times while the bank has not decided). A retry of the same
   * attempt (no answer came) sends the same PaymentMethod and key again, or, once the
   * order is known, goes on from the step it had reached. `onStep(name)` hears
   * 'authenticate' (the bank's step is showing), 'confirm' and 'waiting'.
   *
   * Resolves with the last answer of the API ({status, body}): 200/201 paid, or 202 with
   * the order still pending (`body.requires_action` when the shopper has yet to complete
   * the step). Rejects with a CardError (Stripe.js refused the card details: nothing was
   * sent to the shop) or the API's ApiError (a 402 carries the failed order).
   */
  function payForOrder(attempt, onStep = () => {}) {
    if (attempt.action) return authenticate(attempt, onStep);
    return paymentMethodFor(attempt)
      .then((paymentMethod) => submit(attempt, paymentMethod))
      .then((answer) => {
        if (!answer.body.requires_action) return answer;
        attempt.action = {
          orderId: answer.body.order.id, clientSecret: answer.body.client_secret, shown: false,
        };
        return authenticate(attempt, onStep);
      });
  }

  Shop.payment = {
    load, mountCard, focusCard, clearCard, disableCard, newAttemptKey, payForOrder, confirmOrder, showBankStep, CardError,
  };
})(window.Shop = window.Shop || {});
