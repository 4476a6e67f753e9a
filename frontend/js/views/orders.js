/* Views: "My orders" (every order with its date, product, quantity, amount and status)
 * and one order (/orders/<id>), which is also the "payment submitted" confirmation.
 */
(function (Shop, $) {
  'use strict';

  const views = (Shop.views = Shop.views || {});

  // Orders just answered by POST /api/order/, shown at once without another request.
  const recent = new Map();

  const HEADLINES = {
    PAID: {
      icon: 'bi-check-circle-fill text-success',
      heading: 'Payment submitted',
      lead: 'Thank you! Your payment went through and your order is confirmed.',
    },
    PENDING: {
      icon: 'bi-hourglass-split text-warning',
      heading: 'Payment pending',
      lead: 'Your payment is not confirmed yet. Check My orders again in a moment.',
    },
    FAILED: {
      icon: 'bi-x-circle-fill text-danger',
      heading: 'Payment failed',
      lead: 'The payment did not go through, so nothing was charged.',
    },
    REFUNDED: {
      icon: 'bi-arrow-counterclockwise text-secondary',
      heading: 'Order refunded',
      lead: 'The payment was refunded to your card.',
    },
  };

  function orderRow(order) {
    const $row = Shop.ui.template('tpl-order-row');
    $row.attr('data-order-id', order.id);
    $row.find('.order-id').append($('<a></a>').attr('href', `#/orders/${order.id}`).text(`#${order.id}`));
    $row.find('.order-date').text(Shop.format.date(order.created));
    $row.find('.order-thumb').attr('src', Shop.ui.imageUrl(order.product.image_url));
    $row.find('.order-product').text(order.product.name);
    $row.find('.order-quantity').text(order.quantity);
    $row.find('.order-amount').text(Shop.format.money(order.amount, order.currency));
    Shop.ui.statusBadge($row.find('.order-status'), order.status);
    if (order.status === 'FAILED') $row.find('.order-failure').text(order.failure_message);
    return $row;
  }

  function showOrder($view, order) {
    const look = HEADLINES[order.status] || HEADLINES.PENDING;
    $view.find('.order-icon').addClass(look.icon);
    $view.find('.order-heading').text(look.heading);
    $view.find('.order-lead').text(
      order.status === 'FAILED' && order.failure_message ? order.failure_message : look.lead,
    );
    $view.find('.order-id').text(`#${order.id}`);
    $view.find('.order-product').text(order.product.name);
    $view.find('.order-quantity').text(order.quantity);
    $view.find('.order-amount').text(Shop.format.money(order.amount, order.currency));
    Shop.ui.statusBadge($view.find('.order-status'), order.status);
    $view.find('.order-date').text(Shop.format.date(order.created));
  }

  function failed($where, error, retry) {
    if (error.handled) return; // logged out: the app took over
    if (error.status === 404) {
      $where.empty().append(
        Shop.ui.alert('There is no such order among yours.', 'warning'),
        '<a class="btn btn-outline-primary" href="#/orders">See my orders</a>',
      );
      return;
    }
    const $retry = $('<button type="button" class="btn btn-outline-primary">Try again</button>').on('click', retry);
    $where.empty().append(Shop.ui.alert(error.message), $retry);
  }

  views.orders = function orders($main) {
    $main.append(Shop.ui.template('tpl-orders'));
    const $orders = $main.find('.orders');
    const load = () => {
      $orders.empty().append(Shop.ui.spinner('Loading your orders…'));
      Shop.api.get('/api/order/', { auth: true })
        .then(({ body: list }) => {
          if (!list.length) {
            $orders.empty().append(
              $('<div class="card shadow-sm"><div class="card-body text-center py-5"></div></div>')
                .find('.card-body')
                .append(
                  '<i class="bi bi-bag display-5 text-body-secondary" aria-hidden="true"></i>',
                  '<p class="lead mt-3">No orders yet.</p>',
                  '<a class="btn btn-primary" href="#/catalog">Browse the catalog</a>',
                )
                .end(),
            );
            return;
          }
          const $table = Shop.ui.template('tpl-orders-table');
          list.forEach((order) => $table.find('tbody').append(orderRow(order)));
          $orders.empty().append($table);
        })
        .catch((error) => failed($orders, error, load));
    };
    load();
  };

  views.order = function order($main, { params }) {
    const id = Number(params[0]);
    const $view = Shop.ui.template('tpl-order');
    const $card = $view.find('.order-card');
    $main.append($view);
    if (recent.has(id)) {
      showOrder($view, recent.get(id));
      recent.delete(id); // shown once; a reload asks the API
      return;
    }
    const $details = $card.children().detach();
    const load = () => {
      $card.empty().append(Shop.ui.spinner('Loading the order…'));
      Shop.api.get(`/api/order/${id}/`, { auth: true })
        .then(({ body }) => {
          $card.empty().append($details);
          showOrder($view, body);
        })
        .catch((error) => failed($card.addClass('p-4'), error, load));
    };
    load();
  };

  Shop.orders = {
    remember(order) {
      recent.set(order.id, order);
    },
  };
})(window.Shop = window.Shop || {}, jQuery);
