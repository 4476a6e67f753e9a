/* Views: the home page, the catalog, a product's page (/products/<id>), and
 * /buy/<id>/<quantity> (the catalog with one product's card pop-up open, where a
 * shopper lands after logging in to buy it).
 */
(function (Shop, $) {
  'use strict';

  const views = (Shop.views = Shop.views || {});

  function productCard(product) {
    const $card = Shop.ui.template('tpl-product');
    $card.attr('data-product-id', product.id);
    $card.find('.product-image').attr('src', Shop.ui.imageUrl(product.image_url));
    $card.find('.product-name').text(product.name).attr('href', `#/products/${product.id}`);
    $card.find('.product-description').text(product.description);
    $card.find('.product-price').text(Shop.format.price(product.price, product.currency));
    $card.find('.buy-button')
      .attr('aria-label', `Buy ${product.name}`)
      .on('click', function onBuy() {
        buy(product, this);
      });
    return $card;
  }

  /* "Buy": the card pop-up, or first the login page, which comes back here. */
  function buy(product, button, quantity = 1) {
    if (!Shop.session.isLoggedIn()) {
      const expired = Boolean(Shop.session.token());
      Shop.session.end();
      Shop.app.flash(
        expired
          ? `Your session has expired. Log in again to buy ${product.name}.`
          : `Log in (or sign up) to buy ${product.name}.`,
        expired ? 'warning' : 'info',
      );
      Shop.app.navigate(`/login?next=${encodeURIComponent(`/buy/${product.id}/${quantity}`)}`);
      return;
    }
    Shop.buy.open(product, button, quantity);
  }

  /* Fills `$container` with the catalog grid; resolves with the products shown. */
  function renderCatalog($container) {
    const $grid = $('<div class="row row-cols-1 row-cols-sm-2 row-cols-lg-3 g-4 product-grid" aria-busy="true"></div>');
    for (let n = 0; n < 3; n += 1) $grid.append(Shop.ui.template('tpl-product-placeholder'));
    $container.empty().append($grid, $('<p class="visually-hidden" role="status">Loading the catalog…</p>'));

    return Shop.api.get('/api/product/')
      .then(({ body: products }) => {
        $container.find('[role="status"]').remove();
        $grid.empty().attr('aria-busy', 'false');
        if (!products.length) {
          $container.empty().append(Shop.ui.alert('The catalog is empty for now. Please come back soon.', 'info'));
        }
        products.forEach((product) => $grid.append(productCard(product)));
        return products;
      })
      .catch((error) => {
        const $retry = $('<button type="button" class="btn btn-outline-primary">Try again</button>')
          .on('click', () => renderCatalog($container));
        $container.empty().append(
          Shop.ui.alert(`The catalog could not be loaded. ${error.message}`),
          $retry,
        );
        return [];
      });
  }

  views.home = function home($main) {
    const $view = Shop.ui.template('tpl-home');
    $main.append($view);
    renderCatalog($main.find('.catalog'));
  };

  views.catalog = function catalog($main) {
    $main.append(Shop.ui.template('tpl-catalog'));
    return renderCatalog($main.find('.catalog'));
  };

  /* A product's page. The API lists the products for sale (GET /api/product/) and has
     no page of one, so the page finds it there: one missing from the list (taken off
     sale, or never sold) is "no longer for sale". */
  views.product = function productPage($main, { params }) {
    const productId = Number(params[0]);
    $main.append(Shop.ui.spinner('Loading the product…'));
    const load = () => Shop.api.get('/api/product/').then(({ body: products }) => {
      if (!$.contains(document, $main[0])) return;
      $main.empty();
      const product = products.find((item) => item.id === productId);
      if (!product) {
        $main.append(Shop.ui.template('tpl-product-gone'));
        document.title = 'No longer for sale · Stripe Demo shop';
        return;
      }
      const $view = Shop.ui.template('tpl-product-page');
      $view.find('.product-crumb').text(product.name);
      $view.find('.product-page-image').attr('src', Shop.ui.imageUrl(product.image_url));
      $view.find('.product-name').text(product.name);
      $view.find('.product-description').text(product.description);
      $view.find('.product-price').text(Shop.format.price(product.price, product.currency));
      const $quantity = $view.find('#product-quantity');
      for (let n = 1; n <= Shop.config.maxQuantity; n += 1) {
        $quantity.append($('<option></option>').val(n).text(n));
      }
      const $button = $view.find('.buy-button').attr('aria-label', `Buy ${product.name}`);
      $view.find('.product-buy-form').on('submit', (event) => {
        event.preventDefault();
        buy(product, $button[0], Number($quantity.val()) || 1);
      });
      $main.append($view);
      document.title = `${product.name} · Stripe Demo shop`;
    }, (error) => {
      $main.empty().append(
        Shop.ui.alert(`The product could not be loaded. ${error.message}`),
        $('<button type="button" class="btn btn-outline-primary">Try again</button>').on('click', () => {
          $main.empty().append(Shop.ui.spinner('Loading the product…'));
          load();
        }),
      );
    });
    load();
  };

  views.buy = function buyProduct($main, { params }) {
    const productId = Number(params[0]);
    const quantity = Number(params[1]) || 1;
    // The address goes back to the catalog: reloading or going back won't reopen the pop-up.
    Shop.app.replaceAddress('/catalog');
    views.catalog($main).then((products) => {
      if (!$.contains(document, $main.find('.catalog')[0])) return; // navigated away
      const product = products.find((item) => item.id === productId);
      if (!product) {
        if (products.length) {
          $main.prepend(Shop.ui.alert('That product is no longer for sale.', 'warning', true));
        }
        return;
      }
      const $button = $main.find(`[data-product-id="${productId}"] .buy-button`);
      $button[0].scrollIntoView({ block: 'center' });
      buy(product, $button[0], quantity);
    });
  };
})(window.Shop = window.Shop || {}, jQuery);
