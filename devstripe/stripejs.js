/* devstripe's Stripe.js stand-in: NOT Stripe. Served by a local devstripe at /v3/.
 *
 * The subset of Stripe.js v3 the shop's front end uses, with the same names,
 * arguments and result shapes, so the same page code runs against real Stripe.js:
 *   Stripe(publishableKey)
 *   elements() -> create('card') -> mount / on / focus / blur / clear / update / unmount / destroy;
 *     stripe.createToken(cardElement), stripe.createPaymentMethod({type: 'card', card});
 *   elements({mode: 'payment', amount, currency[, paymentMethodTypes, appearance]}) (deferred intent)
 *     -> create('payment'[, {readOnly, defaultValues, paymentMethodOrder}]) -> mount / on('ready' |
 *     'change' | 'focus' | 'blur') / update({readOnly}) / focus / blur / clear / unmount / destroy;
 *     elements.update({amount, currency}), elements.getElement('payment'), elements.submit(),
 *     stripe.createConfirmationToken({elements, params: {return_url, payment_method_data, shipping}});
 *     methods: card, amazon_pay (devstripe's test redirect page), us_bank_account (settles later);
 *   stripe.retrievePaymentIntent(clientSecret), stripe.handleNextAction({clientSecret})
 *     (use_stripe_sdk: devstripe's 3-D Secure page in a modal; redirect_to_url: the page leaves).
 * Requests go to the devstripe this file was loaded from. Plain ES2017, no dependencies, no
 * inline script or eval; styles are set through element.style, which a CSP without
 * 'unsafe-inline' allows.
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
    // The bank account form's wording is devstripe's, in the card messages' pattern: Stripe's
    // own Payment Element collects US bank accounts through Financial Connections instead.
    incomplete_account_holder_name: "Please enter the account holder's name.",
    incomplete_routing_number: 'Your routing number is incomplete.',
    invalid_routing_number: 'Your routing number is invalid.',
    incomplete_account_number: 'Your account number is incomplete.',
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

  // A US bank routing number (ABA) has 9 digits and a weighted check digit.
  function abaValid(routing) {
    var d = routing.split('').map(Number);
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 === 0;
  }

  // The bank account form's fields, as fieldStates does for a card.
  function bankFieldStates(values, strict) {
    var states = {};
    states.name = String(values.name || '').trim() ? 'complete' : 'empty';
    var routing = digits(values.routing);
    if (!routing) states.routing = 'empty';
    else if (routing.length < 9) states.routing = strict ? { code: 'incomplete_routing_number' } : 'incomplete';
    else states.routing = abaValid(routing) ? 'complete' : { code: 'invalid_routing_number' };
    var account = digits(values.account);
    if (!account) states.account = 'empty';
    else if (account.length < 4) states.account = strict ? { code: 'incomplete_account_number' } : 'incomplete';
    else states.account = 'complete';
    return { states: states };
  }

  // Each payment method type's fields, in the order they are shown and checked.
  var METHOD_FIELDS = { card: ['number', 'expiry', 'cvc'], us_bank_account: ['name', 'routing', 'account'], amazon_pay: [] };

  function methodStates(type, values, strict) {
    if (type === 'card') return fieldStates(values, strict).states;
    if (type === 'us_bank_account') return bankFieldStates(values, strict).states;
    return {};
  }

  function emptyError(field) {
    return {
      number: 'incomplete_number', expiry: 'incomplete_expiry', cvc: 'incomplete_cvc',
      name: 'incomplete_account_holder_name', routing: 'incomplete_routing_number', account: 'incomplete_account_number',
    }[field];
  }

  // The first problem with a method's details, as Stripe.js reports it before calling the API.
  function firstProblem(type, values) {
    var states = methodStates(type, values, true);
    var fields = METHOD_FIELDS[type];
    for (var i = 0; i < fields.length; i++) {
      var state = states[fields[i]];
      if (state === 'empty') return validationError(emptyError(fields[i]));
      if (typeof state === 'object') return validationError(state.code);
    }
    return null;
  }

  // What a card field shows for what was typed: the number in groups, the expiry as
  // "MM / YY" ("4" means April; the " / " appears once the month is typed, unless deleting).
  function cardFieldDisplay(name, raw, deleting) {
    if (name === 'number') return formatNumber(digits(raw).slice(0, 19));
    if (name === 'expiry') {
      var d = digits(raw).slice(0, 4);
      if (d.length === 1 && Number(d) > 1) d = '0' + d;
      if (d.length > 2) return d.slice(0, 2) + ' / ' + d.slice(2);
      return d.length === 2 && !deleting ? d + ' / ' : d;
    }
    return digits(raw).slice(0, 4);
  }

  function isDeleting(event) {
    return Boolean(event && event.inputType && event.inputType.indexOf('delete') === 0);
  }

  // The card as the API takes it (card[number|exp_month|exp_year|cvc]).
  function cardParams(values) {
    var exp = digits(values.expiry);
    return {
      number: digits(values.number),
      exp_month: Number(exp.slice(0, 2)),
      exp_year: 2000 + Number(exp.slice(2, 4)),
      cvc: digits(values.cvc),
    };
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
      return cardFieldDisplay(name, value, true);
    }

    _onInput(name, event) {
      var input = this._inputs[name];
      input.value = cardFieldDisplay(name, input.value, isDeleting(event));
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

    _problem() {
      return firstProblem('card', this._values);
    }

    _card() {
      return cardParams(this._values);
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

  // -- the Payment Element (deferred intent) ----------------------------------------

  var PAYMENT_METHODS = [
    { type: 'card', label: 'Card' },
    { type: 'amazon_pay', label: 'Amazon Pay (test: devstripe redirect page)' },
    { type: 'us_bank_account', label: 'US bank account (test: settles later)' },
  ];
  var PAYMENT_FIELDS = {
    number: { label: 'Card number', placeholder: '1234 1234 1234 1234', autocomplete: 'cc-number', maxLength: 23, numeric: true, basis: '100%' },
    expiry: { label: 'Expiration date', placeholder: 'MM / YY', autocomplete: 'cc-exp', maxLength: 7, numeric: true, basis: '7em' },
    cvc: { label: 'Security code', placeholder: 'CVC', autocomplete: 'cc-csc', maxLength: 4, numeric: true, basis: '6em' },
    name: { label: 'Account holder name', placeholder: '', autocomplete: 'name', maxLength: 100, numeric: false, basis: '100%' },
    routing: { label: 'Routing number', placeholder: '', autocomplete: 'off', maxLength: 9, numeric: true, basis: '8em' },
    account: { label: 'Account number', placeholder: '', autocomplete: 'off', maxLength: 17, numeric: true, basis: '10em' },
  };
  var BANK_HINT = 'Test numbers: routing 110000000; account 000123456789 succeeds, ' +
    '000222222227 fails (insufficient funds). The payment settles a few seconds later.';
  var NO_FORM = 'devstripe-payment-no-form';

  function money(amount, currency) {
    try {
      var format = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
      var decimals = format.resolvedOptions().maximumFractionDigits;
      return format.format(amount / Math.pow(10, decimals));
    } catch (e) {
      return amount + ' ' + currency; // a currency this browser does not know
    }
  }

  function css(node, text) {
    node.style.cssText = text; // CSSOM, which a CSP without 'unsafe-inline' allows
    return node;
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  class PaymentElement {
    constructor(elements, options) {
      this._elements = elements;
      this._options = Object.assign({ readOnly: false }, options || {});
      this._handlers = {};
      this._types = elements._paymentMethodTypes(this._options.paymentMethodOrder);
      this._type = this._types[0];
      this._values = this._emptyValues();
      this._blurred = {};
      this._strict = false; // after a submit(): empty fields are errors too
      this._inputs = {};
      this._errors = {};
      this._radios = {};
      this._panels = {};
      this._root = null;
      this._destroyed = false;
    }

    _emptyValues() {
      var billing = (this._options.defaultValues && this._options.defaultValues.billingDetails) || {};
      return { number: '', expiry: '', cvc: '', name: billing.name || '', routing: '', account: '' };
    }

    on(event, handler) {
      (this._handlers[event] = this._handlers[event] || []).push(handler);
      return this;
    }

    once(event, handler) {
      var self = this;
      function wrapper(payload) {
        self.off(event, wrapper);
        handler(payload);
      }
      return this.on(event, wrapper);
    }

    off(event, handler) {
      this._handlers[event] = handler ? (this._handlers[event] || []).filter(function (h) { return h !== handler; }) : [];
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
      this._render(true);
      var self = this;
      setTimeout(function () { self._emit('ready', { elementType: 'payment' }); }, 0);
      return this;
    }

    _look() {
      var variables = (this._elements._options.appearance && this._elements._options.appearance.variables) || {};
      return {
        text: variables.colorText || '#30313d',
        muted: variables.colorTextSecondary || '#555',
        danger: variables.colorDanger || '#b42318',
        background: variables.colorBackground || '#ffffff', // white: a colorDanger for white still reads
        font: variables.fontFamily || 'system-ui,sans-serif',
        size: variables.fontSizeBase || '16px',
        radius: variables.borderRadius || '4px',
      };
    }

    _build() {
      var self = this;
      var look = this._look();
      var root = css(make('div', 'devstripe-payment'), 'box-sizing:border-box;max-width:100%;border:1px dashed #c9a227;' +
        'border-radius:' + look.radius + ';padding:8px;background:' + look.background + ';color:' + look.text +
        ';font:' + look.size + '/1.4 ' + look.font + ';');
      root.appendChild(css(make('p', 'devstripe-payment-note', 'devstripe test payment form \u2014 local stand-in, not Stripe'),
        'margin:0 0 6px;font-size:12px;color:#7a5c00;'));

      var choice = css(make('fieldset', 'devstripe-payment-methods'), 'margin:0 0 8px;padding:0;border:0;min-width:0;');
      choice.appendChild(css(make('legend', '', 'Payment method'), 'padding:0;margin:0 0 2px;font-size:13px;color:' + look.muted + ';'));
      this._types.forEach(function (type) {
        var method = PAYMENT_METHODS.filter(function (m) { return m.type === type; })[0];
        var option = css(make('label', 'devstripe-payment-method'), 'display:flex;align-items:center;gap:8px;min-height:32px;cursor:pointer;');
        var radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'devstripe-payment-method';
        radio.id = 'devstripe-payment-method-' + type;
        radio.value = type;
        radio.setAttribute('form', NO_FORM); // kept out of the page's own forms, like Stripe's iframe
        css(radio, 'width:18px;height:18px;margin:0;flex:none;');
        radio.addEventListener('change', function () { if (radio.checked) self._select(type); });
        option.appendChild(radio);
        option.appendChild(make('span', '', method.label));
        choice.appendChild(option);
        self._radios[type] = radio;
      });
      if (this._types.length === 1) choice.hidden = true; // one method: nothing to choose
      root.appendChild(choice);

      this._types.forEach(function (type) {
        var panel = css(make('div', 'devstripe-payment-panel'), 'display:flex;flex-wrap:wrap;gap:8px;');
        panel.setAttribute('data-method', type);
        METHOD_FIELDS[type].forEach(function (name) { panel.appendChild(self._field(name, look)); });
        if (type === 'us_bank_account') {
          var hint = css(make('p', 'devstripe-payment-hint', BANK_HINT), 'flex:1 1 100%;margin:0;font-size:13px;color:' + look.muted + ';');
          hint.id = 'devstripe-payment-bank-hint';
          panel.appendChild(hint);
        }
        if (type === 'amazon_pay') {
          var about = css(make('p', 'devstripe-payment-redirect'), 'flex:1 1 100%;margin:0;font-size:14px;');
          about.id = 'devstripe-payment-redirect-note';
          panel.appendChild(about);
        }
        root.appendChild(panel);
        self._panels[type] = panel;
      });

      root.addEventListener('focusin', function (event) {
        if (!root.contains(event.relatedTarget)) self._emit('focus', { elementType: 'payment' });
      });
      root.addEventListener('focusout', function (event) {
        if (!root.contains(event.relatedTarget)) self._emit('blur', { elementType: 'payment' });
      });
      return root;
    }

    _field(name, look) {
      var self = this;
      var spec = PAYMENT_FIELDS[name];
      var id = 'devstripe-payment-' + name;
      var wrap = css(make('div', 'devstripe-payment-field'), 'display:flex;flex-direction:column;min-width:0;flex:1 1 ' + spec.basis + ';');
      var label = css(make('label', '', spec.label), 'font-size:13px;color:' + look.muted + ';');
      label.htmlFor = id;
      var input = document.createElement('input');
      input.id = id;
      input.name = id;
      input.type = 'text';
      if (spec.numeric) input.inputMode = 'numeric';
      input.autocomplete = spec.autocomplete;
      if (spec.placeholder) input.placeholder = spec.placeholder;
      input.maxLength = spec.maxLength;
      input.spellcheck = false;
      input.setAttribute('form', NO_FORM);
      var error = css(make('div', 'devstripe-payment-error'), 'font-size:13px;color:' + look.danger + ';');
      error.id = id + '-error';
      error.setAttribute('role', 'alert');
      var described = [error.id];
      if (name === 'routing' || name === 'account') described.push('devstripe-payment-bank-hint');
      input.setAttribute('aria-describedby', described.join(' '));
      css(input, 'box-sizing:border-box;width:100%;min-width:0;padding:8px;border:1px solid #767676;border-radius:' +
        look.radius + ';background:#fff;color:' + look.text + ';font:inherit;');
      input.addEventListener('input', function (event) { self._onInput(name, event); });
      input.addEventListener('blur', function () {
        self._blurred[name] = true;
        self._showErrors();
      });
      wrap.appendChild(label);
      wrap.appendChild(input);
      wrap.appendChild(error);
      this._inputs[name] = input;
      this._errors[name] = error;
      return wrap;
    }

    // Puts the state (selected method, errors, readOnly, amount; values when asked) on the page.
    _render(writeValues) {
      if (!this._root) return;
      var self = this;
      this._types.forEach(function (type) {
        self._radios[type].checked = type === self._type;
        self._radios[type].disabled = Boolean(self._options.readOnly);
        self._panels[type].hidden = type !== self._type;
        self._panels[type].style.display = type === self._type ? 'flex' : 'none';
      });
      Object.keys(this._inputs).forEach(function (name) {
        var input = self._inputs[name];
        if (writeValues) {
          input.value = METHOD_FIELDS.card.indexOf(name) >= 0 ? cardFieldDisplay(name, self._values[name], true) : self._values[name];
        }
        input.disabled = Boolean(self._options.readOnly);
      });
      var note = this._root.querySelector('#devstripe-payment-redirect-note');
      if (note) {
        var options = this._elements._options;
        note.textContent = 'After you pay, you go to devstripe\u2019s test redirect page (not Amazon Pay) to authorize ' +
          'or fail the payment of ' + money(options.amount, options.currency) + ', then come back here.';
      }
      this._showErrors();
    }

    _problemFor(name) {
      var strict = this._strict || Boolean(this._blurred[name]);
      var state = methodStates(this._type, this._values, strict)[name];
      if (typeof state === 'object') return validationError(state.code);
      if (this._strict && state === 'empty') return validationError(emptyError(name));
      return null;
    }

    _showErrors() {
      var self = this;
      var look = this._look();
      Object.keys(this._inputs).forEach(function (name) {
        var problem = METHOD_FIELDS[self._type].indexOf(name) >= 0 ? self._problemFor(name) : null;
        var message = problem ? problem.message : '';
        if (self._errors[name].textContent !== message) self._errors[name].textContent = message;
        self._inputs[name].setAttribute('aria-invalid', problem ? 'true' : 'false');
        self._inputs[name].style.borderColor = problem ? look.danger : '#767676';
      });
    }

    _onInput(name, event) {
      var input = this._inputs[name];
      if (name === 'routing' || name === 'account') input.value = digits(input.value).slice(0, PAYMENT_FIELDS[name].maxLength);
      else if (name !== 'name') input.value = cardFieldDisplay(name, input.value, isDeleting(event));
      this._values[name] = name === 'name' ? input.value : digits(input.value);
      this._changed();
    }

    _select(type) {
      this._type = type;
      this._strict = false;
      this._blurred = {};
      this._render();
      this._changed();
    }

    _changed() {
      this._elements._submitted = false; // what was submitted is no longer what the element holds
      this._showErrors();
      this._emit('change', this._event());
    }

    _event() {
      var states = methodStates(this._type, this._values, false);
      var fields = METHOD_FIELDS[this._type];
      return {
        elementType: 'payment',
        // A method with no fields (amazon_pay) counts as chosen, not empty.
        empty: fields.length > 0 && fields.every(function (name) { return states[name] === 'empty'; }),
        complete: fields.every(function (name) { return states[name] === 'complete'; }),
        collapsed: false,
        value: { type: this._type },
      };
    }

    // submit(): every field of the chosen method is checked and its error shown.
    _validate() {
      this._strict = true;
      this._showErrors();
      return firstProblem(this._type, this._values);
    }

    // payment_method_data as Stripe's API takes it, from what the customer entered.
    _paymentMethodData() {
      var data = { type: this._type };
      if (this._type === 'card') data.card = cardParams(this._values);
      if (this._type === 'us_bank_account') {
        data.us_bank_account = {
          routing_number: digits(this._values.routing),
          account_number: digits(this._values.account),
          account_holder_type: 'individual',
        };
        data.billing_details = { name: this._values.name.trim() };
      }
      return data;
    }

    _assertMounted(method) {
      if (!this._root || !this._root.isConnected) {
        throw new IntegrationError('We could not retrieve data from the specified Element. Please make sure ' +
          'the Element you are attempting to use is still mounted. (' + method + ')');
      }
    }

    focus() {
      if (!this._root) return;
      var first = METHOD_FIELDS[this._type][0];
      var target = first ? this._inputs[first] : this._radios[this._type];
      if (target && !target.disabled) target.focus();
    }

    blur() {
      if (this._root && this._root.contains(document.activeElement)) document.activeElement.blur();
    }

    clear() {
      this._values = this._emptyValues();
      this._blurred = {};
      this._strict = false;
      this._render(true);
      this._changed();
    }

    update(options) {
      var next = options || {};
      if ('paymentMethodOrder' in next) {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in cannot change paymentMethodOrder after create().');
      }
      Object.assign(this._options, next);
      this._render();
      return this;
    }

    collapse() {
      return this; // the stand-in never collapses (change events say collapsed: false)
    }

    unmount() {
      if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
      this._root = null;
      this._inputs = {};
      this._errors = {};
      this._radios = {};
      this._panels = {};
    }

    destroy() {
      this.unmount();
      this._destroyed = true;
      if (this._elements._created.payment === this) delete this._elements._created.payment;
    }
  }

  // elements({mode, amount, currency, ...}) options, checked as Stripe.js checks them.
  function checkIntentOptions(options, method) {
    if ('mode' in options && options.mode !== 'payment') {
      throw new IntegrationError('devstripe\'s Stripe.js stand-in supports mode: \'payment\' only, not ' +
        JSON.stringify(options.mode) + '.');
    }
    if ('amount' in options && !(Number.isInteger(options.amount) && options.amount > 0)) {
      throw new IntegrationError('Invalid value for ' + method + ': amount should be a positive integer. You specified: ' +
        options.amount + '.');
    }
    if ('currency' in options && !(typeof options.currency === 'string' && /^[a-z]{3}$/.test(options.currency))) {
      throw new IntegrationError('Invalid value for ' + method + ': currency should be a lowercase three-letter ISO ' +
        'currency code, e.g. "usd". You specified: ' + options.currency + '.');
    }
  }

  class Elements {
    constructor(stripe, options) {
      this._stripe = stripe;
      this._options = Object.assign({}, options || {});
      this._created = {};
      this._handlers = {};
      this._submitted = false;
      if (this._options.clientSecret) {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in supports Elements without an Intent only: ' +
          'use stripe.elements({mode: \'payment\', amount, currency}).');
      }
      if (this._options.mode) {
        checkIntentOptions(this._options, 'elements()');
        if (!('amount' in this._options)) {
          throw new IntegrationError('Missing value for elements(): amount is required when mode is \'payment\'.');
        }
        if (!('currency' in this._options)) {
          throw new IntegrationError('Missing value for elements(): currency is required when mode is set.');
        }
      }
    }

    // The payment method types the Payment Element offers, in the order asked for.
    _paymentMethodTypes(order) {
      var known = PAYMENT_METHODS.map(function (m) { return m.type; });
      var wanted = this._options.paymentMethodTypes || known;
      var unknown = wanted.filter(function (type) { return known.indexOf(type) < 0; });
      if (unknown.length) {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in offers the payment method types ' +
          known.join(', ') + '; not ' + unknown.join(', ') + '.');
      }
      var first = (order || []).filter(function (type) { return wanted.indexOf(type) >= 0; });
      return first.concat(wanted.filter(function (type) { return first.indexOf(type) < 0; }));
    }

    create(type, options) {
      if (type !== 'card' && type !== 'payment') {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in supports only the card and payment Elements, not "' +
          type + '".');
      }
      if (this._created[type]) throw new IntegrationError('Can only create one Element of type ' + type + '.');
      if (type === 'payment' && !this._options.mode) {
        throw new IntegrationError('In order to create a payment Element, you must pass a clientSecret or mode when ' +
          'creating the Elements group, e.g. stripe.elements({mode: \'payment\', amount: 1099, currency: \'usd\'}).');
      }
      this._created[type] = type === 'card' ? new CardElement(this, options) : new PaymentElement(this, options);
      return this._created[type];
    }

    getElement(type) {
      return this._created[type] || null;
    }

    on(event, handler) {
      (this._handlers[event] = this._handlers[event] || []).push(handler);
    }

    // Shallowly merged, as Stripe.js does; resolves once the Payment Element shows it.
    async update(options) {
      var next = options || {};
      checkIntentOptions(next, 'elements.update()');
      Object.assign(this._options, next);
      var payment = this._created.payment;
      if (payment) payment._render();
      (this._handlers['update-end'] || []).slice().forEach(function (handler) { handler(); });
    }

    // Checks the Payment Element's fields (showing their errors in it) before a confirmation.
    async submit() {
      var payment = this._created.payment;
      if (!payment) {
        throw new IntegrationError('elements.submit(): there is no Payment Element in this Elements group to submit.');
      }
      payment._assertMounted('elements.submit');
      var problem = payment._validate();
      this._submitted = !problem;
      return problem ? { error: problem } : { selectedPaymentMethod: payment._type };
    }
  }

  // -- 3-D Secure: devstripe's test page in a modal ---------------------------------

  // devstripe names its own pages (3-D Secure, the test redirect page) at the address it
  // was started with; this browser reaches it where it loaded this file from.
  function devstripePage(url) {
    var page = new URL(url, BASE);
    return /^\/(3ds|redirect)\//.test(page.pathname) ? BASE + page.pathname + page.search + page.hash : page.href;
  }

  function challenge(url, intentId) {
    var src = devstripePage(url);
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

    // Stripe.js merges what the Payment Element collected into params.payment_method_data.
    async createConfirmationToken(options) {
      var elements = options && options.elements;
      if (!(elements instanceof Elements) || !elements.getElement('payment')) {
        throw new IntegrationError('Invalid value for createConfirmationToken: elements should be an Elements ' +
          'group with a Payment Element.');
      }
      var payment = elements.getElement('payment');
      payment._assertMounted('createConfirmationToken');
      if (!elements._submitted) {
        throw new IntegrationError('elements.submit() must be called before stripe.createConfirmationToken(). ' +
          'Call elements.submit() as soon as your customer presses pay, prior to any asynchronous work.');
      }
      var params = Object.assign({}, options.params || {});
      var extra = params.payment_method_data || {};
      var collected = payment._paymentMethodData();
      var data = Object.assign({}, extra, collected);
      var billing = Object.assign({}, extra.billing_details || {}, collected.billing_details || {});
      if (Object.keys(billing).length) data.billing_details = billing;
      params.payment_method_data = data;
      var response = await request('POST', '/v1/confirmation_tokens', this._key, params);
      return response.ok ? { confirmationToken: response.json } : { error: response.json.error };
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
        window.location.assign(devstripePage(action.redirect_to_url.url));
        return new Promise(function () {}); // the page is going away, as with Stripe.js
      }
      if (action.type !== 'use_stripe_sdk') {
        throw new IntegrationError('devstripe\'s Stripe.js stand-in cannot handle a next_action of type ' + action.type + '.');
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
