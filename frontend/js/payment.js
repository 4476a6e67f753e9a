/* Stripe.js: loading it, the Payment Element, and paying for one order with a
 * PaymentIntent the shop creates and confirms.
 *
 * The only file that calls Stripe.js, and only with calls that exist in Stripe's real
 * Stripe.js v3 (Stripe(), elements({mode: 'payment', amount, currency}), create('payment'),
 * mount, on, focus, clear, update, elements.update, elements.submit,
 * createConfirmationToken, handleNextAction), so the same code runs against Stripe and
 * against devstripe's stand-in. Card numbers and bank details stay inside Stripe's
 * Element: this page only ever sees a ConfirmationToken's id (ctoken_…) and, when the
 * payment needs the shopper again (3-D Secure, or a payment page to go to), the
 * PaymentIntent's client secret.
 *
 * The Payment Element is mounted in deferred-intent mode: no PaymentIntent exists while
 * the shopper types. It is told the amount and currency (the catalog's price × quantity,
 * or a failed order's own amount), which decide the payment methods it offers, and is
 * told again when they change. The shop creates the PaymentIntent, for the amount in its
 * database, and confirms it with the token on the server.
 *
 * Paying (payForOrder): elements.submit() (the Element checks what was typed) →
 * createConfirmationToken → POST /api/order/ (or, for an order that failed,
 * POST /api/order/<id>/pay/; both under the attempt's Idempotency-Key) → if the answer
 * says requires_action, handleNextAction shows the bank's step (3-D Secure, over the
 * page) or takes the shopper to a payment page, which sends them back to the shop's
 * return_url (js/app.js) → POST /api/order/<id>/confirm/. The shop settles the order
 * from what Stripe says, never from what Stripe.js told this page, so confirm/ is called
 * whatever the step's outcome and its answer is the one that counts. The order's page
 * uses confirmOrder and showBankStep on their own for a payment still pending.
 */
(function (Shop) {
  'use strict';

  let loading = null;
  let stripe = null;
  let elements = null; // Stripe's Elements group, in deferred-intent ("payment") mode
  let paymentElement = null;
  let shownAmount = null; // {amount, currency} the Element was last told

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

  // The Element drawn like the rest of the shop (Stripe's Appearance API).
  const APPEARANCE = {
    theme: 'stripe',
    variables: {
      colorPrimary: '#635bff',
      colorText: '#212529',
      colorDanger: '#dc3545',
      fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      fontSizeBase: '16px',
      borderRadius: '6px',
    },
  };

  let mounting = null; // resolves with the Payment Element once it is ready

  /* Mounts the Payment Element into `container` (once) for `price` ({amount, currency}:
     the smallest unit, and a lowercase ISO code); `onChange` gets its change events.
     Resolves with the Element once it is ready to take the focus; rejects when Stripe.js
     or the Element cannot load (the next call tries again). Mounted already: only the
     amount is updated. */
  function mountForm(container, price, onChange) {
    if (mounting) {
      return mounting.then((element) => {
        setAmount(price);
        return element;
      });
    }
    mounting = load().then(() => new Promise((resolve, reject) => {
      elements = stripe.elements({
        mode: 'payment', amount: price.amount, currency: price.currency, appearance: APPEARANCE,
      });
      shownAmount = { ...price };
      const element = elements.create('payment', { layout: 'tabs' });
      element.on('ready', () => resolve(element));
      // Stripe's Element says so when it cannot load (a key refused, no method to offer).
      element.on('loaderror', (event) => {
        element.destroy();
        reject(new Error((event && event.error && event.error.message) || 'The Payment Element did not load'));
      });
      element.on('change', onChange);
      element.mount(container);
      paymentElement = element;
    })).catch((error) => {
      mounting = null;
      paymentElement = null;
      elements = null;
      throw error;
    });
    return mounting;
  }

  /* What the Element is paying for: the payment methods it offers depend on it, and
     Stripe checks it against the PaymentIntent the shop makes. */
  function setAmount(price) {
    if (!elements) return;
    if (shownAmount && shownAmount.amount === price.amount && shownAmount.currency === price.currency) return;
    shownAmount = { ...price };
    elements.update({ amount: price.amount, currency: price.currency });
  }

  function focusForm() {
    if (paymentElement) paymentElement.focus();
  }

  function clearForm() {
    if (paymentElement) paymentElement.clear();
  }

  let formLocked = false;

  /* Makes the payment details read-only while a payment is in flight (Stripe's
     element.update({readOnly})), and editable again after. */
  function lockForm(locked) {
    if (!paymentElement || formLocked === Boolean(locked)) return;
    formLocked = Boolean(locked);
    paymentElement.update({ readOnly: formLocked });
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

  /* Stripe.js refused the payment details (e.g. an incomplete card number, or a card
     Stripe knows to be invalid): nothing was sent to the shop. `shownInForm`: the
     Payment Element shows the message itself, next to the field it is about. */
  class DetailsError extends Error {
    constructor(message, shownInForm) {
      super(message);
      this.shownInForm = Boolean(shownInForm);
    }
  }

  const ORDER_TIMEOUT = 90000; // longer than the server's Stripe timeout with its retries
  // How long to keep asking while the bank has not decided (confirm/ answers 202).
  const BANK_WAIT_MS = [1000, 2000, 3000, 4000, 5000];

  function wait(ms) {
    return new Promise((resolve) => { setTimeout(resolve, ms); });
  }

  /* Where a payment page sends the shopper back: this page. The shop sends its own
     return_url with the confirmation (the order's page, `/?order=<id>`), which Stripe
     uses in place of this one. */
  function returnUrl(attempt) {
    const page = `${window.location.origin}${window.location.pathname}`;
    return attempt.orderId ? `${page}?order=${attempt.orderId}` : page;
  }

  /* The attempt's ConfirmationToken id: made once per attempt, so a retry sends the same
     (the shop replays the attempt under its key; Stripe never sees the token twice).
     elements.submit() runs first, in the same turn as the click on Pay, as Stripe.js
     asks (wallets and redirects need the click's user activation). */
  function confirmationTokenFor(attempt) {
    if (attempt.confirmationToken) return Promise.resolve(attempt.confirmationToken);
    return elements.submit()
      .then((submitted) => {
        if (submitted.error) throw new DetailsError(submitted.error.message, submitted.error.type === 'validation_error');
        return stripe.createConfirmationToken({ elements, params: { return_url: returnUrl(attempt) } });
      })
      .then((result) => {
        if (result.error) throw new DetailsError(result.error.message, false);
        attempt.confirmationToken = result.confirmationToken.id;
        return attempt.confirmationToken;
      });
  }

  /* A new order, or another try for attempt.orderId; both under the attempt's
     Idempotency-Key, so that a retry of the same attempt is answered, never done twice. */
  function submit(attempt, confirmationToken) {
    const options = { auth: true, headers: { 'Idempotency-Key': attempt.key }, timeout: ORDER_TIMEOUT };
    if (attempt.orderId) {
      return Shop.api.post(`/api/order/${attempt.orderId}/pay/`, { confirmation_token: confirmationToken }, options);
    }
    return Shop.api.post(
      '/api/order/',
      { product: attempt.productId, quantity: attempt.quantity, confirmation_token: confirmationToken },
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
      // Processing (e.g. a bank debit): it settles by webhook, minutes or days from now.
      if (answer.body.order && answer.body.order.payment_processing) return answer;
      if (waited >= BANK_WAIT_MS.length) return answer; // still undecided: pending
      onStep('waiting');
      const delay = BANK_WAIT_MS[waited];
      waited += 1;
      return wait(delay).then(ask);
    });
    return ask();
  }

  /* The bank's step for a PaymentIntent's client secret, shown by Stripe.js over the
     page (3-D Secure). Resolves when the step is over, whatever its outcome: only the
     shop's confirm/ says how the payment ended. A payment method that confirms on a
     page of its own (a bank's, a wallet's) takes the shopper there instead, and the
     promise never resolves: they come back to the shop's return_url (js/app.js). */
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

  /* Pays for one purchase attempt:
   * {key, productId, quantity, orderId, confirmationToken, action}.
   *
   * Makes the attempt's ConfirmationToken (elements.submit, createConfirmationToken)
   * once, posts it: a new order with the product and quantity under the attempt's
   * Idempotency-Key, or, when `orderId` is set, another try for that order (pay/). An
   * answer with requires_action is kept in `attempt.action` ({orderId, clientSecret});
   * the bank's step runs and then confirm/ (polled a few times while the bank has not
   * decided). A retry of the same attempt (no answer came) sends the same token and key
   * again, or, once the order is known, goes on from the step it had reached.
   * `onStep(name)` hears 'authenticate' (the bank's step is showing), 'confirm' and
   * 'waiting'.
   *
   * Resolves with the last answer of the API ({status, body}): 200/201 paid, or 202 with
   * the order still pending (`body.requires_action` when the shopper has yet to complete
   * the step, `body.order.payment_processing` when the payment settles later). Rejects
   * with a DetailsError (Stripe.js refused the payment details: nothing was sent to the
   * shop) or the API's ApiError (a 402 carries the failed order).
   */
  function payForOrder(attempt, onStep = () => {}) {
    if (attempt.action) return authenticate(attempt, onStep);
    return confirmationTokenFor(attempt)
      .then((confirmationToken) => submit(attempt, confirmationToken))
      .then((answer) => {
        if (!answer.body.requires_action) return answer;
        attempt.action = {
          orderId: answer.body.order.id, clientSecret: answer.body.client_secret, shown: false,
        };
        return authenticate(attempt, onStep);
      });
  }

  Shop.payment = {
    load,
    mountForm,
    setAmount,
    focusForm,
    clearForm,
    lockForm,
    newAttemptKey,
    payForOrder,
    confirmOrder,
    showBankStep,
    DetailsError,
  };
})(window.Shop = window.Shop || {});
