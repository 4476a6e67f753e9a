/* devstripe's Stripe.js stand-in: NOT Stripe. Served by a local devstripe at /v3/.
 *
 * The subset of Stripe.js v3 the shop's front end uses, with the same names,
 * arguments and result shapes, so the same page code runs against real Stripe.js:
 *   Stripe(publishableKey) -> elements() -> create('card') -> mount / on / focus / clear / ...
 *   stripe.createToken(cardElement), stripe.createPaymentMethod({type: 'card', card}),
 *   stripe.retrievePaymentIntent(clientSecret), stripe.handleNextAction({clientSecret}).
 * Requests go to the devstripe this file was loaded from. Plain ES2017, no dependencies.
 */
(function () {
  'use strict';

  var script = document.currentScript ||
    Array.prototype.slice.call(document.scripts).filter(function (s) { return /\/v3\/?$/.test(s.src); })[0];
  var SRC = new URL(script.src, window.location.href);
  var BASE = SRC.origin + SRC.pathname.replace(/\/v3\/?$/, '');

  class IntegrationError extends Error {
    constructor(message) {
      super(message);
      this.name = 'IntegrationError';
    }
  }

  // -- talking to devstripe's API with the publishable key ----------------------

  function encode(params, prefix) {
    var parts = [];
    Object.keys(params).forEach(function (name) {
      var value = params[name];
      var key = prefix ? prefix + '[' + name + ']' : name;
      if (value === undefined || value === null) return;
      if (typeof value === 'object') {
        parts.push(encode(value, key));
      } else {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(value)));
      }
    });
    return parts.filter(Boolean).join('&');
  }

  async function request(method, path, key, params) {
    var query = encode(Object.assign({ key: key }, params || {}));
    var url = BASE + path;
    var init = { method: method, headers: {} };
    if (method === 'GET') {
      url += '?' + query;
    } else {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = query;
    }
    try {
      var response = await fetch(url, init);
      return { ok: response.ok, json: await response.json() };
    } catch (e) {
      return {
        ok: false,
        json: { error: { type: 'api_connection_error', message: 'Could not reach devstripe at ' + BASE + '.' } },
      };
    }
  }

  // -- card details: brands and validation, with Stripe.js's messages -----------

  var MESSAGES = {
    incomplete_number: 'Your card number is incomplete.',
    invalid_number: 'Your card number is invalid.',
    incomplete_expiry: "Your card's expiration date is incomplete.",
    invalid_expiry_month: "Your card's expiration date is invalid.",
    invalid_expiry_year: "Your card's expiration year is invalid.",
    invalid_expiry_month_past: "Your card's expiration date is in the past.",
    invalid_expiry_year_past: "Your card's expiration year is in the past.",
    incomplete_cvc: "Your card's security code is incomplete.",
  };

  function digits(value) {
    return String(value || '').replace(/\D/g, '');
  }

  function brandOf(number) {
    if (/^4/.test(number)) return 'visa';
    if (/^3[47]/.test(number)) return 'amex';
    if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(number)) return 'mastercard';
    if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
    if (/^(36|38|39|30[0-5])/.test(number)) return 'diners';
    if (/^35(2[89]|[3-8])/.test(number)) return 'jcb';
    if (/^62/.test(number)) return 'unionpay';
    return 'unknown';
  }

  function numberLength(brand) {
    return { amex: 15, diners: 14 }[brand] || 16;
  }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = Number(number[number.length - 1 - i]);
      if (i % 2) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 === 0;
  }

  function formatNumber(number) {
    var groups = brandOf(number) === 'amex' ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var out = [];
    var rest = number;
    groups.forEach(function (size) {
      if (rest) {
        out.push(rest.slice(0, size));
        rest = rest.slice(size);
      }
    });
    return out.join(' ');
  }

  // Each field is 'empty', 'complete', or {code} for an error; `strict` turns
  // incomplete fields into errors (on blur, and before creating a token).
  function fieldStates(values, strict) {
    var number = digits(values.number);
    var brand = brandOf(number);
    var states = {};
    var wanted = numberLength(brand);
    if (!number) states.number = 'empty';
    else if (number.length >= wanted && !luhn(number)) states.number = { code: 'invalid_number' };
    else if (number.length >= wanted) states.number = 'complete';
    else states.number = strict ? { code: 'incomplete_number' } : 'incomplete';

    var exp = digits(values.expiry);
    var month = Number(exp.slice(0, 2));
    var now = new Date();
    if (!exp) states.expiry = 'empty';
    else if (exp.length >= 2 && (month < 1 || month > 12)) states.expiry = { code: 'invalid_expiry_month' };
    else if (exp.length < 4) states.expiry = strict ? { code: 'incomplete_expiry' } : 'incomplete';
    else {
      var year = 2000 + Number(exp.slice(2, 4));
      if (year < now.getFullYear()) states.expiry = { code: 'invalid_expiry_year_past' };
      else if (year === now.getFullYear() && month < now.getMonth() + 1) states.expiry = { code: 'invalid_expiry_month_past' };
      else if (year > now.getFullYear() + 50) states.expiry = { code: 'invalid_expiry_year' };
      else states.expiry = 'complete';
    }

    var cvc = digits(values.cvc);
    var cvcLength = brand === 'amex' ? 4 : 3;
    if (!cvc) states.cvc = 'empty';
    else if (cvc.length >= cvcLength) states.cvc = 'complete';
    else states.cvc = strict ? { code: 'incomplete_cvc' } : 'incomplete';
    return { brand: brand, states: states };
  }

  function emptyError(field) {
    return { number: 'incomplete_number', expiry: 'incomplete_expiry', cvc: 'incomplete_cvc' }[field];
  }

  var AUTHENTICATION_FAILED =
    'We are unable to authenticate your payment method. Please choose a different payment method and try again.';

  function validationError(code) {
    return { type: 'validation_error', code: code, message: MESSAGES[code] };
  }

  // -- the card Element ----------------------------------------------------------

  var FIELDS = [
    { name: 'number', label: 'Card number', placeholder: '1234 1234 1234 1234', autocomplete: 'cc-number', maxLength: 23 },
    { name: 'expiry', label: 'Expiration date (MM / YY)', placeholder: 'MM / YY', autocomplete: 'cc-exp', maxLength: 7 },
    { name: 'cvc', label: 'Security code (CVC)', placeholder: 'CVC', autocomplete: 'cc-csc', maxLength: 4 },
  ];
  var STYLE_PROPERTIES = ['color', 'fontFamily', 'fontSize', 'fontWeight', 'lineHeight', 'letterSpacing'];

  class CardElement {
    constructor(elements, options) {
      this._elements = elements;
      this._options = options || {};
      this._handlers = {};
      this._values = { number: '', expiry: '', cvc: '' };
      this._blurred = {};
      this._inputs = {};
      this._root = null;
      this._destroyed = false;
      this._lastEvent = '';
    }

    on(event, handler) {
      (this._handlers[event] = this._handlers[event] || []).push(handler);
      return this;
    }

    off(event, handler) {
      this._handlers[event] = (this._handlers[event] || []).filter(function (h) { return h !== handler; });
      return this;
    }

    _emit(event, payload) {
      (this._handlers[event] || []).slice().forEach(function (handler) { handler(payload); });
    }

    mount(target) {
      if (this._destroyed) {
        throw new IntegrationError('This Element has already been destroyed. Please create a new one.');
      }
      var container = typeof target === 'string' ? document.querySelector(target) : target;
      if (!container || typeof container.appendChild !== 'function') {
        throw new IntegrationError('The selector you specified (' + target + ') applies to no DOM elements ' +
          'that are currently on the page. Make sure the element exists on the page before calling mount().');
      }
      if (this._root) this.unmount();
      this._root = this._build();
      container.appendChild(this._root);
      var self = this;
      setTimeout(function () { self._emit('ready', { elementType: 'card' }); }, 0);
    }

    _build() {
      var self = this;
      var root = document.createElement('div');
      root.className = 'devstripe-card';
      root.style.cssText = 'border:1px dashed #c9a227;border-radius:4px;padding:6px 8px;background:#fffdf5;';
      var note = document.createElement('p');
      note.className = 'devstripe-card-note';
      note.textContent = 'devstripe test card form \u2014 local stand-in, not Stripe';
      note.style.cssText = 'margin:0 0 4px;font:12px/1.4 system-ui,sans-serif;color:#7a5c00;';
      root.appendChild(note);
      var row = document.createElement('div');
      row.style.cssText = 'display:flex;flex-wrap:wrap;gap:8px;';
      root.appendChild(row);
      var base = (this._options.style && this._options.style.base) || {};
      FIELDS.forEach(function (field) {
        var id = 'devstripe-card-' + field.name;
        var wrap = document.createElement('div');
        wrap.style.cssText = 'display:flex;flex-direction:column;flex:' + (field.name === 'number' ? '2 1 12em' : '1 1 5em') + ';';
        var label = document.createElement('label');
        label.htmlFor = id;
        label.textContent = field.label;
        label.style.cssText = 'font:12px/1.4 system-ui,sans-serif;color:#555;';
        var input = document.createElement('input');
        input.id = id;
        input.name = id;
        input.type = 'text';
        input.inputMode = 'numeric';
        input.autocomplete = field.autocomplete;
        input.placeholder = field.placeholder;
        input.maxLength = field.maxLength;
        input.spellcheck = false;
        input.disabled = Boolean(self._options.disabled); // Stripe's `disabled` option
        // Like Stripe's iframe, keep card details out of the page's own forms:
        // an input whose form attribute names no form belongs to none.
        input.setAttribute('form', 'devstripe-card-no-form');
        input.style.cssText = 'border:0;outline:0;background:transparent;padding:2px 0;min-width:0;font:inherit;';
        STYLE_PROPERTIES.forEach(function (prop) { if (base[prop]) input.style[prop] = base[prop]; });
        input.value = self._display(field.name, self._values[field.name]);
        input.addEventListener('input', function (event) { self._onInput(field.name, event); });
        input.addEventListener('focus', function () { self._emit('focus', { elementType: 'card' }); });
        input.addEventListener('blur', function () {
          self._blurred[field.name] = true;
          self._emit('blur', { elementType: 'card' });
          self._changed(false);
        });
        wrap.appendChild(label);
        wrap.appendChild(input);
        row.appendChild(wrap);
        self._inputs[field.name] = input;
      });
      return root;
    }

    _display(name, value) {
      if (name === 'number') return formatNumber(digits(value).slice(0, 19));
      if (name === 'expiry') {
        var d = digits(value).slice(0, 4);
        return d.length > 2 ? d.slice(0, 2) + ' / ' + d.slice(2) : d;
      }
      return digits(value).slice(0, 4);
    }

    _onInput(name, event) {
      var input = this._inputs[name];
      var raw = input.value;
      if (name === 'expiry') {
        var d = digits(raw).slice(0, 4);
        if (d.length === 1 && Number(d) > 1) d = '0' + d; // "4" means April
        var deleting = event && event.inputType && event.inputType.indexOf('delete') === 0;
        if (d.length > 2) input.value = d.slice(0, 2) + ' / ' + d.slice(2);
        else input.value = d.length === 2 && !deleting ? d + ' / ' : d;
      } else {
        input.value = this._display(name, raw);
      }
      this._values[name] = digits(input.value);
      this._changed(true);
    }

    _event(strictFields) {
      var result = fieldStates(this._values, false);
      var event = { elementType: 'card', empty: true, complete: true, brand: result.brand, value: {} };
      var error = null;
      var blurred = this._blurred;
      ['number', 'expiry', 'cvc'].forEach(function (name) {
        var state = result.states[name];
        if (state !== 'empty') event.empty = false;
        if (state !== 'complete') event.complete = false;
        if (!error && typeof state === 'object') error = state.code;
        if (!error && state === 'incomplete' && (strictFields || blurred[name])) error = emptyError(name);
      });
      if (error) event.error = validationError(error);
      return event;
    }

    _changed(always) {
      var event = this._event(false);
      var errorCode = event.error ? event.error.code : '';
      var self = this;
      Object.keys(this._inputs).forEach(function (name) {
        var state = fieldStates(self._values, !!self._blurred[name]).states[name];
        var bad = typeof state === 'object';
        self._inputs[name].setAttribute('aria-invalid', bad ? 'true' : 'false');
        var invalid = (self._options.style && self._options.style.invalid) || {};
        self._inputs[name].style.color = bad ? (invalid.color || '#b42318') : ((self._options.style && self._options.style.base && self._options.style.base.color) || '');
      });
      var signature = JSON.stringify([this._values, errorCode]);
      if (always || signature !== this._lastEvent) {
        this._lastEvent = signature;
        this._emit('change', event);
      }
    }

    // The first problem with the card details, as Stripe.js reports it before calling the API.
    _problem() {
      var states = fieldStates(this._values, true).states;
      var fields = ['number', 'expiry', 'cvc'];
      for (var i = 0; i < fields.length; i++) {
        var state = states[fields[i]];
        if (state === 'empty') return validationError(emptyError(fields[i]));
        if (typeof state === 'object') return validationError(state.code);
      }
      return null;
    }

    _card() {
      var exp = digits(this._values.expiry);
      return {
        number: digits(this._values.number),
        exp_month: Number(exp.slice(0, 2)),
        exp_year: 2000 + Number(exp.slice(2, 4)),
        cvc: digits(this._values.cvc),
      };
    }

    _assertMounted(method) {
      if (!this._root || !this._root.isConnected) {
        throw new IntegrationError('We could not retrieve data from the specified Element. Please make sure ' +
          'the Element you are attempting to use is still mounted. (' + method + ')');
      }
    }

    focus() {
      if (this._inputs.number) this._inputs.number.focus();
    }

    blur() {
      var active = document.activeElement;
      Object.keys(this._inputs).forEach((name) => { if (this._inputs[name] === active) active.blur(); });
    }

    clear() {
      this._values = { number: '', expiry: '', cvc: '' };
      this._blurred = {};
      var inputs = this._inputs;
      Object.keys(inputs).forEach(function (name) { inputs[name].value = ''; });
      this._changed(true);
    }

    update(options) {
      Object.assign(this._options, options || {});
      if (this._root && this._root.parentNode) {
        var container = this._root.parentNode;
        this.unmount();
        this.mount(container);
      }
    }

    unmount() {
      if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
      this._root = null;
      this._inputs = {};
    }

    destroy() {
      this.unmount();
      this._destroyed = true;
      if (this._elements._created.card === this) delete this._elements._created.card;
    }
  }

  class Elements {
    constructor(stripe, options) {
      this._stripe = stripe;
      this._options = options || {};
      this._created = {};
    }

    create(type, options) {
      if (type !== 'card') {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in supports only the card Element, not "' + type + '".');
      }
      if (this._created.card) throw new IntegrationError('Can only create one Element of type card.');
      this._created.card = new CardElement(this, options);
      return this._created.card;
    }

    getElement(type) {
      return this._created[type] || null;
    }
  }

  // -- 3-D Secure: devstripe's test page in a modal ---------------------------------

  function challenge(url, intentId) {
    var page = new URL(url, BASE);
    var src = BASE + page.pathname + page.search; // where this browser reaches devstripe
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.id = 'devstripe-3ds-modal';
      overlay.setAttribute('role', 'dialog');
      overlay.setAttribute('aria-modal', 'true');
      overlay.setAttribute('aria-label', 'devstripe test 3-D Secure authentication');
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;' +
        'justify-content:center;background:rgba(0,0,0,.55);';
      var frame = document.createElement('iframe');
      frame.id = 'devstripe-3ds-frame';
      frame.name = 'devstripe-3ds-frame';
      frame.title = 'devstripe \u2014 test 3-D Secure page (not your bank)';
      frame.src = src;
      frame.style.cssText = 'width:min(440px,94vw);height:min(420px,90vh);border:0;border-radius:8px;background:#fff;';
      frame.addEventListener('load', function () { frame.focus(); });
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      function onMessage(event) {
        var data = event.data || {};
        if (event.source !== frame.contentWindow || data.type !== 'devstripe-3ds-result' ||
            data.payment_intent !== intentId) return;
        window.removeEventListener('message', onMessage);
        overlay.remove();
        resolve(data.result);
      }
      window.addEventListener('message', onMessage);
    });
  }

  // -- Stripe() ---------------------------------------------------------------------

  function intentId(clientSecret, method) {
    if (typeof clientSecret !== 'string' || clientSecret.indexOf('_secret_') < 1) {
      throw new IntegrationError('Invalid value for ' + method + ': clientSecret should be a client secret of ' +
        'the form ${id}_secret_${secret}. You specified: ' + clientSecret + '.');
    }
    return clientSecret.split('_secret_')[0];
  }

  class StripeStandIn {
    constructor(key) {
      if (typeof key !== 'string' || !key) {
        throw new IntegrationError('Please call Stripe() with your publishable key. You used an empty string.');
      }
      if (/^sk_/.test(key)) {
        throw new IntegrationError('You should not use your secret key with Stripe.js. Please pass a publishable key instead.');
      }
      if (!/^pk_/.test(key)) {
        throw new IntegrationError('Invalid value for Stripe(): apiKey should be a publishable key (pk_...). You specified: ' + key + '.');
      }
      this._key = key;
    }

    elements(options) {
      return new Elements(this, options);
    }

    async createToken(element, data) {
      if (!(element instanceof CardElement)) {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in supports createToken(cardElement[, data]) only.');
      }
      element._assertMounted('createToken');
      var problem = element._problem();
      if (problem) return { error: problem };
      var card = element._card();
      var extra = data || {};
      ['name', 'address_line1', 'address_line2', 'address_city', 'address_state', 'address_zip', 'address_country', 'currency']
        .forEach(function (name) { if (extra[name]) card[name] = extra[name]; });
      var response = await request('POST', '/v1/tokens', this._key, { card: card });
      return response.ok ? { token: response.json } : { error: response.json.error };
    }

    async createPaymentMethod(options, legacyElement, legacyData) {
      if (typeof options === 'string') {
        options = Object.assign({ type: options, card: legacyElement }, legacyData || {});
      }
      options = options || {};
      if (options.type !== 'card') {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in supports createPaymentMethod({type: \'card\'}) only.');
      }
      if (!(options.card instanceof CardElement)) {
        throw new IntegrationError('Invalid value for createPaymentMethod: card should be a card Element.');
      }
      options.card._assertMounted('createPaymentMethod');
      var problem = options.card._problem();
      if (problem) return { error: problem };
      var params = { type: 'card', card: options.card._card() };
      if (options.billing_details) params.billing_details = options.billing_details;
      if (options.metadata) params.metadata = options.metadata;
      var response = await request('POST', '/v1/payment_methods', this._key, params);
      return response.ok ? { paymentMethod: response.json } : { error: response.json.error };
    }

    async retrievePaymentIntent(clientSecret) {
      var id = intentId(clientSecret, 'retrievePaymentIntent');
      var response = await request('GET', '/v1/payment_intents/' + encodeURIComponent(id), this._key,
        { client_secret: clientSecret });
      return response.ok ? { paymentIntent: response.json } : { error: response.json.error };
    }

    // Stripe documents that handleNextAction errors unless the PaymentIntent is
    // in requires_action; the result then carries an error, not the intent.
    async handleNextAction(options) {
      var clientSecret = options && options.clientSecret;
      var id = intentId(clientSecret, 'handleNextAction');
      var first = await this.retrievePaymentIntent(clientSecret);
      if (first.error) return first;
      var intent = first.paymentIntent;
      if (intent.status !== 'requires_action') {
        return {
          error: {
            type: 'invalid_request_error',
            code: 'payment_intent_unexpected_state',
            message: 'handleNextAction: the PaymentIntent has a status of ' + intent.status +
              ', and only a PaymentIntent with a status of requires_action has a next action to handle.',
            payment_intent: intent,
          },
        };
      }
      var action = intent.next_action || {};
      if (action.type === 'redirect_to_url') {
        window.location.assign(action.redirect_to_url.url);
        return new Promise(function () {}); // the page is going away, as with Stripe.js
      }
      await challenge(action.use_stripe_sdk.stripe_js, id);
      var after = await this.retrievePaymentIntent(clientSecret);
      if (after.error) return after;
      intent = after.paymentIntent;
      if (intent.status === 'requires_payment_method' && intent.last_payment_error) {
        var error = Object.assign({}, intent.last_payment_error, { payment_intent: intent });
        if (error.code === 'payment_intent_authentication_failure') {
          // Stripe.js tells the customer this, not the API's developer-facing message.
          error.message = AUTHENTICATION_FAILED;
        }
        return { error: error };
      }
      return { paymentIntent: intent };
    }
  }

  function Stripe(key, options) {
    return new StripeStandIn(key, options);
  }
  Stripe.devstripe = { base: BASE, standIn: true };

  window.Stripe = Stripe;
})();
