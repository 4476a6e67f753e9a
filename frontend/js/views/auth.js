/* Views: log in and sign up. Both show the API's message next to the field it is
 * about, and both keep `?next=` so the shopper ends up where they were going.
 */
(function (Shop, $) {
  'use strict';

  const views = (Shop.views = Shop.views || {});

  // The email just signed up with, to fill in the login form.
  let lastEmail = '';

  /* Where to go after logging in: an address inside the app, never elsewhere. */
  function nextPath(query) {
    const next = query.get('next') || '';
    return /^\/[A-Za-z0-9/_-]*$/.test(next) && next !== '/login' && next !== '/signup'
      ? next
      : '/catalog';
  }

  function withNext(path, query) {
    return query.get('next') ? `${path}?next=${encodeURIComponent(nextPath(query))}` : path;
  }

  /* Sign-up errors are one sentence (e.g. "First name is required.", "This password is
     too short. …"); this finds the field it names, or null for a general message. */
  function signupField(message) {
    if (/^first[ _]name\b/i.test(message)) return 'first_name';
    if (/^last[ _]name\b/i.test(message)) return 'last_name';
    if (/password/i.test(message)) return 'password';
    if (/e-?mail/i.test(message)) return 'email';
    return null;
  }

  function values($form) {
    const data = {};
    $form.serializeArray().forEach(({ name, value }) => {
      data[name] = name === 'password' ? value : value.trim();
    });
    return data;
  }

  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  /* What is missing or wrong in a form, every field at once, before asking the shop:
     [{field, message}]. The shop checks again (e.g. a common password, a taken email). */
  const CHECKS = {
    login: [
      ['username', (v) => (v ? '' : 'Enter your email.')],
      ['username', (v) => (!v || EMAIL.test(v) ? '' : 'Enter an email address like name@example.com.')],
      ['password', (v) => (v ? '' : 'Enter your password.')],
    ],
    signup: [
      ['first_name', (v) => (v ? '' : 'First name is required.')],
      ['last_name', (v) => (v ? '' : 'Last name is required.')],
      ['email', (v) => (v ? '' : 'Email is required.')],
      ['email', (v) => (!v || EMAIL.test(v) ? '' : 'Enter an email address like name@example.com.')],
      ['password', (v) => (v ? '' : 'Password is required.')],
      ['password', (v) => (!v || v.length >= 8 ? '' : 'This password is too short. It must contain at least 8 characters.')],
    ],
  };

  function problems(kind, data) {
    const found = new Map();
    CHECKS[kind].forEach(([field, check]) => {
      const message = check(data[field] || '');
      if (message && !found.has(field)) found.set(field, message);
    });
    return Array.from(found, ([field, message]) => ({ field, message }));
  }

  /* Wires a form's submit to `send`: one request at a time, button busy meanwhile.
     Fields `kind`'s checks find missing or wrong are all flagged at once (the first
     one focused), and nothing is sent. */
  function handleSubmit($form, kind, send) {
    let sending = false;
    const $button = $form.find('.submit-button');
    $form.on('submit', (event) => {
      event.preventDefault();
      if (sending) return;
      sending = true;
      Shop.ui.clearFormErrors($form);
      const data = values($form);
      const found = problems(kind, data);
      if (found.length) {
        Shop.ui.showFieldErrors($form, found);
        sending = false;
        return;
      }
      Shop.ui.busy($button, true);
      send(data).catch(() => {}).then(() => {
        sending = false;
        if ($.contains(document, $button[0])) Shop.ui.busy($button, false);
      });
    });
  }

  /* Asks the shop for a token and starts the session with it; the one way in, used by
     the log-in form and right after signing up. Rejects with the API's error. */
  function logIn(email, password) {
    return Shop.api.post('/api/api-token-auth/', { username: email, password })
      .then(({ body }) => {
        Shop.session.start(body.token, email);
        lastEmail = '';
      });
  }

  views.login = function login($main, { query }) {
    const $view = Shop.ui.template('tpl-login');
    const $form = $view.find('form');
    $view.find('.signup-link').attr('href', `#${withNext('/signup', query)}`);
    $form.find('[name="username"]').val(lastEmail);
    $main.append($view);

    handleSubmit($form, 'login', (data) => logIn(data.username, data.password)
      .then(() => Shop.app.navigate(nextPath(query)))
      .catch((error) => {
        if (error.status === 400 && /authorization failure/i.test(error.message)) {
          Shop.ui.showFormError($form, 'Wrong email or password.', 'password');
        } else {
          Shop.ui.showFormError($form, error.message);
        }
        throw error;
      }));
  };

  views.signup = function signup($main, { query }) {
    const $view = Shop.ui.template('tpl-signup');
    const $form = $view.find('form');
    $view.find('.login-link').attr('href', `#${withNext('/login', query)}`);
    $main.append($view);

    handleSubmit($form, 'signup', (data) => Shop.api.post('/api/signup/', data)
      .catch((error) => {
        Shop.ui.showFormError($form, error.message, signupField(error.message));
        throw error;
      })
      // The account exists now: log in with it at once and carry on where the shopper
      // was going. If that fails (e.g. throttled), the log-in form takes over, filled in.
      .then(() => logIn(data.email, data.password)
        .then(() => {
          Shop.app.flash(`Welcome, ${data.first_name} — your account is ready.`, 'success');
          Shop.app.navigate(nextPath(query));
        }, () => {
          lastEmail = data.email;
          Shop.app.flash('Your account is ready. Log in to start shopping.', 'success');
          Shop.app.navigate(withNext('/login', query));
        })));
  };
})(window.Shop = window.Shop || {}, jQuery);
