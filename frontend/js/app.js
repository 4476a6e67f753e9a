/* The app: reads config.json, routes the address (#/catalog, #/orders, …) to a view,
 * keeps the navbar in step with the session, shows notices, sends a shopper whose
 * session ended back to log in, then on to where they were, and takes a shopper coming
 * back from a payment page to their order's page.
 *
 * Routes live after "#" so that the same files work as plain files on S3.
 */
(function (Shop, $) {
  'use strict';

  const $main = $('#main');
  const $notices = $('#notices');
  let pending = []; // notices for the next page
  let rendered = false;

  const routes = [
    { pattern: /^\/$/, view: 'home' },
    { pattern: /^\/catalog$/, view: 'catalog', nav: 'catalog' },
    // /buy/<product>/<quantity>: the product's pop-up, e.g. after logging in on the way.
    { pattern: /^\/buy\/(\d+)(?:\/(\d+))?$/, view: 'buy', nav: 'catalog', login: 'Log in (or sign up) to buy this product.' },
    { pattern: /^\/products\/(\d+)$/, view: 'product', nav: 'catalog' },
    { pattern: /^\/login$/, view: 'login', nav: 'login' },
    { pattern: /^\/signup$/, view: 'signup', nav: 'signup' },
    { pattern: /^\/orders$/, view: 'orders', nav: 'orders', login: 'Log in to see your orders.' },
    { pattern: /^\/orders\/(\d+)$/, view: 'order', nav: 'orders', login: 'Log in to see your orders.' },
  ];

  function address() {
    const hash = window.location.hash.replace(/^#/, '') || '/';
    const [path, search = ''] = hash.split('?');
    return { path, query: new URLSearchParams(search) };
  }

  function navigate(path) {
    if (window.location.hash === `#${path}`) render();
    else window.location.hash = path;
  }

  /* Changes the address without showing another page. */
  function replaceAddress(path) {
    window.history.replaceState(window.history.state, '', `#${path}`);
  }

  function flash(text, type = 'info') {
    pending.push({ text, type });
  }

  function showNotices() {
    $notices.empty();
    pending.forEach(({ text, type }) => $notices.append(Shop.ui.alert(text, type, true)));
    pending = [];
  }

  function updateNav(active) {
    const loggedIn = Shop.session.isLoggedIn();
    $('[data-when="logged-in"]').prop('hidden', !loggedIn);
    $('[data-when="logged-out"]').prop('hidden', loggedIn);
    $('#nav-user').text(loggedIn ? Shop.session.email() : '').attr('title', Shop.session.email() || null);
    if (active !== undefined) {
      $('[data-nav]').removeClass('active').removeAttr('aria-current');
      if (active) $(`[data-nav="${active}"]`).addClass('active').attr('aria-current', 'page');
    }
  }

  function render() {
    const { path, query } = address();
    if (!path.startsWith('/')) return; // an in-page anchor, not a page

    bootstrap.Collapse.getOrCreateInstance('#nav-links', { toggle: false }).hide();
    if (Shop.buy.isOpen()) Shop.buy.close();

    const route = routes.find((candidate) => candidate.pattern.test(path));
    if (route && route.login && !Shop.session.isLoggedIn()) {
      const expired = Boolean(Shop.session.token());
      Shop.session.end();
      flash(expired ? 'Your session has expired. Please log in again.' : route.login, expired ? 'warning' : 'info');
      replaceAddress(`/login?next=${encodeURIComponent(path)}`);
      render();
      return;
    }

    showNotices();
    $main.empty().removeAttr('aria-busy');
    if (route) {
      Shop.views[route.view]($main, { params: route.pattern.exec(path).slice(1), query });
    } else {
      $main.append(Shop.ui.template('tpl-not-found'));
    }
    updateNav(route ? route.nav || null : null);
    document.title = pageTitle($main);

    // A new page: move the focus to its heading (screen readers announce it), unless
    // the card pop-up has it.
    if (rendered && !Shop.buy.isOpen()) {
      const $heading = $main.find('h1').first();
      ($heading.length ? $heading : $main).trigger('focus');
    }
    if (rendered) window.scrollTo(0, 0);
    rendered = true;
  }

  function pageTitle($page) {
    const heading = $page.find('h1').first().text().trim();
    return heading && address().path !== '/' ? `${heading} · Stripe Demo shop` : 'Stripe Demo shop';
  }

  function logOut() {
    Shop.session.end();
    flash('You are logged out. See you soon!', 'success');
    navigate('/');
  }

  /* A request found the session missing, expired or refused (401). */
  function sessionEnded(event, message) {
    const { path } = address();
    const next = (Shop.buy.isOpen() && Shop.buy.returnPath()) || path;
    Shop.buy.forceClose();
    updateNav();
    flash(message, 'warning');
    navigate(`/login?next=${encodeURIComponent(next === '/login' ? '/catalog' : next)}`);
  }

  /* A payment method that confirms on a page of its own (a bank's, a wallet's) sends the
     shopper back to the return_url the shop gave Stripe: this page with `?order=<id>`,
     plus Stripe's payment_intent, payment_intent_client_secret and redirect_status.
     None of that is trusted, nor kept in the address or the history: the address
     becomes the order's page, which asks the shop (confirm/) how the payment ended. */
  function comeBackFromPaymentPage() {
    const query = new URLSearchParams(window.location.search);
    if (!query.has('order') && !query.has('payment_intent')) return;
    const id = /^[1-9]\d{0,17}$/.test(query.get('order') || '') ? Number(query.get('order')) : null;
    const path = id ? `/orders/${id}` : '/orders';
    window.history.replaceState(null, '', `${window.location.pathname}#${path}`);
    if (id) Shop.orders.rememberReturn(id);
  }

  function paymentModeNote() {
    const url = Shop.config.stripeJsUrl || '';
    if (!/^https:\/\/js\.stripe\.com\//.test(url)) {
      return 'Payments go to devstripe, a local Stripe stand-in: no real money moves.';
    }
    if (/^pk_test_/.test(Shop.config.stripePublishableKey || '')) {
      return 'Payments by Stripe, in test mode: no real money moves.';
    }
    return 'Payments by Stripe.';
  }

  /* config.json: generated by Django locally, written at deploy on S3. Data, not a
     script: every script this page runs is a fixed file pinned by its integrity hash. */
  function loadConfig() {
    return fetch('config.json', { cache: 'no-cache', headers: { Accept: 'application/json' } })
      .then((response) => {
        if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
        return response.json();
      });
  }

  function start() {
    loadConfig().then((config) => {
      Shop.config = config;
      run();
    }, () => {
      $main.empty().append(Shop.ui.alert(
        'The shop cannot open right now. Please try again in a few minutes.',
      ));
    });
  }

  function run() {
    $('#payment-mode').text(paymentModeNote());
    Shop.buy.init();

    $(document).on('shop:unauthorized', sessionEnded);
    $('#log-out').on('click', logOut);
    $('[data-skip-to]').on('click', function skip(event) {
      event.preventDefault();
      $(`#${$(this).data('skip-to')}`).trigger('focus');
    });
    window.addEventListener('storage', () => {
      Shop.session.reload(); // logged in or out in another tab
      updateNav();
    });
    window.addEventListener('hashchange', render);
    comeBackFromPaymentPage();
    render();
  }

  Shop.app = { navigate, replaceAddress, flash };
  $(start);
})(window.Shop = window.Shop || {}, jQuery);
