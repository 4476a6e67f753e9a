/* Views: the home page, the catalog, and /buy/<id> (the catalog with one product's
 * card pop-up open, where a shopper lands after logging in to buy it).
 */
(function (Shop, $) {
  'use strict';

  const views = (Shop.views = Shop.views || {});

  function productCard(product) {
    const $card = Shop.ui.template('tpl-product');
    $card.attr('data-product-id', product.id);
    $card.find('.product-image').attr('src', Shop.ui.imageUrl(product.image_url));
    $card.find('.product-name').text(product.name);
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
  function buy(product, button) {
    if (!Shop.session.isLoggedIn()) {
      const expired = Boolean(Shop.session.token());
      Shop.session.end();
      Shop.app.flash(
        expired
          ? `Your session has expired. Log in again to buy ${product.name}.`
          : `Log in (or sign up) to buy ${product.name}.`,
        expired ? 'warning' : 'info',
      );
      Shop.app.navigate(`/login?next=${encodeURIComponent(`/buy/${product.id}`)}`);
      return;
    }
    Shop.buy.open(product, button);
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

  views.buy = function buyProduct($main, { params }) {
    const productId = Number(params[0]);
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
      buy(product, $button[0]);
    });
  };
})(window.Shop = window.Shop || {}, jQuery);
