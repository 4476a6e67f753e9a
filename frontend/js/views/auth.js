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

  /* Wires a form's submit to `send`: one request at a time, button busy meanwhile. */
  function handleSubmit($form, send) {
    let sending = false;
    const $button = $form.find('.submit-button');
    $form.on('submit', (event) => {
      event.preventDefault();
      if (sending) return;
      sending = true;
      Shop.ui.clearFormErrors($form);
      Shop.ui.busy($button, true);
      send(values($form)).catch(() => {}).then(() => {
        sending = false;
        if ($.contains(document, $button[0])) Shop.ui.busy($button, false);
      });
    });
  }

  views.login = function login($main, { query }) {
    const $view = Shop.ui.template('tpl-login');
    const $form = $view.find('form');
    $view.find('.signup-link').attr('href', `#${withNext('/signup', query)}`);
    $form.find('[name="username"]').val(lastEmail);
    $main.append($view);

    handleSubmit($form, (data) => Shop.api.post('/api/api-token-auth/', data)
      .then(({ body }) => {
        Shop.session.start(body.token, data.username);
        lastEmail = '';
        Shop.app.navigate(nextPath(query));
      })
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

    handleSubmit($form, (data) => Shop.api.post('/api/signup/', data)
      .then(() => {
        lastEmail = data.email;
        Shop.app.flash('Your account is ready. Log in to start shopping.', 'success');
        Shop.app.navigate(withNext('/login', query));
      })
      .catch((error) => {
        Shop.ui.showFormError($form, error.message, signupField(error.message));
        throw error;
      }));
  };
})(window.Shop = window.Shop || {}, jQuery);
