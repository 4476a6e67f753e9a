/* Stripe.js: loading it, the card Element, and paying for one order.
 *
 * The only file that calls Stripe.js, and only with calls that exist in Stripe's real
 * Stripe.js v3 (Stripe(), elements(), create('card'), mount, on, focus, clear,
 * createToken), so the same code runs against Stripe and against devstripe's
 * stand-in. The card number stays inside Stripe's Element: this page only ever sees
 * the token.
 */
(function (Shop) {
  'use strict';

  let loading = null;
  let stripe = null;
  let card = null;

  /* Loads Stripe.js from SHOP_CONFIG.stripeJsUrl once; resolves with the Stripe object. */
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

  /* Pays for one purchase attempt: {key, productId, quantity, token}.
   *
   * Turns the card into a token once per attempt (stripe.createToken), then posts it
   * with the product to POST /api/order/ under the attempt's Idempotency-Key. Retrying
   * the same attempt (after a network failure) sends the same token and key again.
   * Resolves with the API's answer ({status, body}); rejects with a CardError (Stripe.js
   * refused the card details: no order was made) or the API's ApiError.
   *
   * The one function to replace when the pop-up moves to PaymentIntents.
   */
  function payForOrder(attempt) {
    const tokenReady = attempt.token
      ? Promise.resolve(attempt.token)
      : stripe.createToken(card).then((result) => {
        if (result.error) throw new CardError(result.error.message);
        attempt.token = result.token.id;
        return attempt.token;
      });
    return tokenReady.then((token) => Shop.api.post(
      '/api/order/',
      { product: attempt.productId, quantity: attempt.quantity, token },
      // Longer than the server's Stripe timeout with its retries.
      { auth: true, headers: { 'Idempotency-Key': attempt.key }, timeout: 90000 },
    ));
  }

  Shop.payment = { load, mountCard, focusCard, clearCard, newAttemptKey, payForOrder, CardError };
})(window.Shop = window.Shop || {});
