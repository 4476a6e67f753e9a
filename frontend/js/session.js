/* Who is logged in: the JWT from /api/api-token-auth/ and the email it was issued for,
 * kept in localStorage so that a reload or a new tab stays logged in until the token
 * expires. The token's own expiry ("exp") is read to send the shopper back to log in
 * before the server has to refuse it; the server still has the last word (a 401).
 */
(function (Shop) {
  'use strict';

  const KEY = 'stripe-demo-shop.session';

  function read() {
    try {
      return JSON.parse(window.localStorage.getItem(KEY)) || null;
    } catch (error) {
      return null;
    }
  }

  function write(value) {
    try {
      if (value) window.localStorage.setItem(KEY, JSON.stringify(value));
      else window.localStorage.removeItem(KEY);
    } catch (error) {
      // Storage can be unavailable (private modes); the session then lasts one page.
    }
    memory = value;
  }

  let memory = read();

  /* The claims of a JWT (its middle part, base64url JSON), or null if unreadable. */
  function claims(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(window.atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')));
    } catch (error) {
      return null;
    }
  }

  const session = {
    start(token, email) {
      write({ token, email });
    },
    end() {
      write(null);
    },
    token() {
      return memory ? memory.token : null;
    },
    email() {
      return memory ? memory.email : null;
    },
    /* True once the token's expiry has passed (by this browser's clock). */
    isExpired() {
      const payload = memory && claims(memory.token);
      return Boolean(payload && typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now());
    },
    isLoggedIn() {
      return Boolean(memory && memory.token) && !session.isExpired();
    },
    /* Logging in or out in another tab. */
    reload() {
      memory = read();
    },
  };

  Shop.session = session;
})(window.Shop = window.Shop || {});
