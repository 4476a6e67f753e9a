/* Views: "My orders" (every order with its date, product, quantity, amount and status)
 * and one order (/orders/<id>). Right after paying, that page is the confirmation
 * ("Thank you — your order is confirmed", the card, the receipt, what next);
 * opened later it shows the order's status and details, without thanking again.
 *
 * A payment whose outcome is not known yet (the shop could not hear from Stripe, or the
 * answer was lost) shows as "Payment pending — confirming with Stripe": the page asks
 * the shop to settle the order (confirm/) at growing intervals until Stripe has
 * decided, and offers nothing that could pay for that purchase a second time. So does a
 * shopper coming back from a payment page (a bank's, a wallet's: js/app.js).
 *
 * A payment Stripe is processing (a bank debit: it settles minutes or days later, by
 * webhook) shows as "Processing — we will confirm your payment": the page asks the shop
 * for the order now and then, while it is open, and shows it paid or failed once the
 * webhook has settled it. A failed order the shop can still take a payment for has
 * "Pay now", here and in My orders: the payment pop-up for that same order.
 */
(function (Shop, $) {
  'use strict';

  const views = (Shop.views = Shop.views || {});

  // Orders just answered by the API ({order, pending}), shown at once without another
  // request; `order` is null when only the id is known (the answer was lost).
  const recent = new Map();

  // Right after paying (the pop-up, or the confirming page, saw it paid).
  const JUST_PAID = {
    icon: 'bi-check-circle-fill text-success',
    heading: 'Thank you — your order is confirmed',
    lead: 'Your payment went through.',
  };

  const HEADLINES = {
    PAID: {
      icon: 'bi-check-circle-fill text-success',
      heading: 'Order paid',
      lead: 'This order is paid and confirmed.',
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

  const CONFIRMING = {
    icon: 'bi-hourglass-split text-warning',
    heading: 'Payment pending — confirming with Stripe',
    lead: 'We do not know yet whether your payment went through: the shop is asking Stripe. '
      + 'This page updates by itself; there is no need to pay again.',
  };
  const BANK_WAITING = {
    icon: 'bi-shield-lock text-warning',
    heading: 'Payment pending — your bank is waiting for you',
    lead: 'Your bank asks you to confirm this payment before it goes through.',
  };
  const PROCESSING = {
    icon: 'bi-bank text-info',
    heading: 'Processing — we will confirm your payment',
    lead: 'Your bank is processing the payment, which can take from a few minutes to a few days. '
      + 'There is no need to pay again: this page updates by itself, and once the payment '
      + 'goes through, a receipt is emailed to you and My orders shows the order paid.',
  };
  const GAVE_UP = {
    icon: 'bi-hourglass-split text-warning',
    heading: 'Payment pending',
    lead: 'Stripe has not confirmed the payment yet. The shop will settle this order by itself, '
      + 'without charging you twice: reload this page in a few minutes to see how it ended.',
  };

  // confirm/ at growing intervals (the shop answers from its database when it asked
  // Stripe moments ago, so this is cheap), then every 30 s, for a few minutes: past
  // that, the shop's own reconciliation settles the order.
  const CONFIRM_DELAYS_MS = [1000, 2000, 3000, 5000, 8000, 13000, 21000, 30000];
  const CONFIRM_FOR_MS = 3 * 60 * 1000;
  // A processing payment settles by webhook: the page reads the order (no call to
  // Stripe) soon, then less and less often, for as long as it is open.
  const PROCESSING_DELAYS_MS = [2000, 3000, 5000, 8000, 13000, 21000, 30000, 60000];

  function isPaid(order) {
    return order.status === 'PAID' || order.status === 'REFUNDED';
  }

  /* An attempt's outcome is unknown: the order may be paid any moment. */
  function awaitsOutcome(order) {
    return !isPaid(order) && (order.status === 'PENDING' || order.payment_pending === true);
  }

  /* Stripe is processing the order's payment (e.g. a bank debit): a webhook settles it.
     The order is PENDING, or still FAILED when the debit pays an order that failed
     before: either way it is neither paid nor failed until then. */
  function isProcessing(order) {
    return !isPaid(order) && order.payment_processing === true;
  }

  /* The badge: "Processing" for an order whose payment Stripe is processing. */
  function shownStatus(order) {
    return isProcessing(order) ? 'PROCESSING' : order.status;
  }

  /* The shop takes another card for this order (servers before can_pay: any failed one;
     pay/ refuses those it cannot take, with a sentence). */
  function canPay(order) {
    if (typeof order.can_pay === 'boolean') return order.can_pay;
    return order.status === 'FAILED' && !order.payment_pending;
  }

  function payButton(order) {
    return $('<button type="button" class="btn btn-primary order-pay"></button>')
      .attr('aria-label', `Pay order ${order.id} again`)
      .append('<i class="bi bi-credit-card me-1" aria-hidden="true"></i>', document.createTextNode('Pay now'))
      .on('click', function onPay() {
        Shop.buy.openForOrder(order, this);
      });
  }

  function orderRow(order) {
    const $row = Shop.ui.template('tpl-order-row');
    $row.attr('data-order-id', order.id);
    $row.find('.order-id').append($('<a></a>').attr('href', `#/orders/${order.id}`).text(`#${order.id}`));
    $row.find('.order-date').text(Shop.format.date(order.created));
    $row.find('.order-thumb').attr('src', Shop.ui.imageUrl(order.product.image_url));
    $row.find('.order-product').text(order.product.name);
    $row.find('.order-quantity').text(order.quantity);
    $row.find('.order-amount').text(Shop.format.money(order.amount, order.currency));
    Shop.ui.statusBadge($row.find('.order-status'), shownStatus(order));
    if (isProcessing(order)) {
      $row.find('.order-note').text('Your bank is processing the payment');
    } else if (awaitsOutcome(order)) {
      $row.find('.order-note').text('Confirming the payment with Stripe');
    } else if (order.status === 'FAILED') {
      $row.find('.order-failure').text(order.failure_message).attr('title', order.failure_message);
    }
    if (canPay(order)) $row.find('.order-row-actions').append(payButton(order).addClass('btn-sm'));
    return $row;
  }

  const BRANDS = {
    visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover',
    diners: 'Diners Club', jcb: 'JCB', unionpay: 'UnionPay',
  };

  /* "Visa •••• 4242" from the order's card_brand and card_last4, or '' when the shop
     did not say (older servers, or no card charged yet). */
  function cardLine(order) {
    if (!order.card_last4) return '';
    const brand = BRANDS[String(order.card_brand || '').toLowerCase()] || order.card_brand || 'Card';
    return `${brand} •••• ${order.card_last4}`;
  }

  /* A https link from the API (Stripe's receipt page), or null. */
  function receiptUrl(order) {
    return /^https:\/\//.test(order.receipt_url || '') ? order.receipt_url : null;
  }

  function detailRow(label, $value) {
    return $('<div class="list-group-item d-flex justify-content-between gap-3 order-extra"></div>')
      .append($('<dt class="fw-normal text-body-secondary"></dt>').text(label))
      .append($('<dd class="mb-0 text-end"></dd>').append($value));
  }

  function showDetails($view, order) {
    $view.find('.order-extra').remove();
    const $details = $view.find('.order-details');
    if (cardLine(order) && isPaid(order)) {
      $details.append(detailRow('Paid with', $('<span class="order-card-used"></span>').text(cardLine(order))));
    }
    if (receiptUrl(order) && isPaid(order)) {
      $details.append(detailRow('Receipt', $('<a target="_blank" rel="noopener noreferrer" class="order-receipt"></a>')
        .attr('href', receiptUrl(order))
        .append(document.createTextNode('View receipt'),
          '<span class="visually-hidden"> (opens in a new tab)</span>',
          '<i class="bi bi-box-arrow-up-right ms-1" aria-hidden="true"></i>')));
    }
    $view.find('.order-id').text(`#${order.id}`);
    $view.find('.order-product').text(order.product.name);
    $view.find('.order-quantity').text(order.quantity);
    $view.find('.order-amount').text(Shop.format.money(order.amount, order.currency));
    Shop.ui.statusBadge($view.find('.order-status'), shownStatus(order));
    $view.find('.order-date').text(Shop.format.date(order.created));
  }

  /* The page's headline (icon, heading, lead); `busy` shows that the shop is asking. */
  function showHeadline($view, look, lead, busy = false) {
    $view.find('.order-icon').removeClass().addClass(`bi order-icon display-4 ${look.icon}`);
    $view.find('.order-heading').text(look.heading);
    $view.find('.order-lead').text(lead || look.lead);
    $view.find('.order-progress').prop('hidden', !busy);
    $view.find('.order-actions').empty().prop('hidden', true);
  }

  /* What to do next after paying: the receipt, where the order is kept. */
  function nextStep(order) {
    const parts = [];
    if (cardLine(order)) parts.push(`Paid with ${cardLine(order)}.`);
    // The shop emails a receipt for every paid order (orders' receipt job).
    parts.push('A receipt is on its way to your email; the order is kept in My orders.');
    return parts.join(' ');
  }

  /* The order's status; `justPaid`: the shopper paid it a moment ago (the confirmation). */
  function showOrder($view, order, justPaid = false) {
    if (justPaid && isPaid(order)) {
      showHeadline($view, JUST_PAID, `${JUST_PAID.lead} ${nextStep(order)}`);
      showDetails($view, order);
      if (!order.card_last4) addCardDetailsLater($view, order.id);
      return;
    }
    const look = HEADLINES[order.status] || HEADLINES.PENDING;
    showHeadline($view, look, order.status === 'FAILED' && order.failure_message ? order.failure_message : '');
    if (order.status === 'FAILED' && canPay(order)) {
      $view.find('.order-actions').append(payButton(order)).prop('hidden', false);
    }
    showDetails($view, order);
  }

  /* Stripe's answer to a PaymentIntent names its charge only: the shop learns the card's
     brand and last four a moment after the payment (with its receipt). The confirmation
     asks for them again a few times, and shows them once they are known. */
  const CARD_DETAILS_DELAYS_MS = [1000, 2000, 4000];

  function addCardDetailsLater($view, orderId, attempt = 0) {
    if (attempt >= CARD_DETAILS_DELAYS_MS.length) return;
    setTimeout(() => {
      if (!onPage($view)) return;
      Shop.api.get(`/api/order/${orderId}/`, { auth: true })
        .then(({ body }) => {
          if (!onPage($view) || !isPaid(body)) return;
          if (!body.card_last4) {
            addCardDetailsLater($view, orderId, attempt + 1);
            return;
          }
          $view.find('.order-lead').text(`${JUST_PAID.lead} ${nextStep(body)}`);
          showDetails($view, body);
        })
        .catch(() => {}); // the confirmation stands without them
    }, CARD_DETAILS_DELAYS_MS[attempt]);
  }

  /* A change on a page already shown: said to screen readers, whose focus stays put. */
  function announce($view, text) {
    $view.find('.order-announce').text(text);
  }

  function onPage($view) {
    return document.body.contains($view[0]);
  }

  /* The bank waits for the shopper's 3-D Secure step: it opens again from here, and the
     shop is asked again once it is over. */
  function showBankWaiting($view, order, clientSecret) {
    showHeadline($view, BANK_WAITING);
    showDetails($view, order);
    const $confirm = $('<button type="button" class="btn btn-primary"></button>')
      .append('<span class="spinner-border spinner-border-sm me-1 d-none" aria-hidden="true"></span>',
        document.createTextNode('Confirm with your bank'))
      .on('click', () => {
        Shop.ui.busy($confirm, true);
        Shop.payment.showBankStep(clientSecret).then(() => {
          if (onPage($view)) confirmUntilSettled($view, order);
        });
      });
    $view.find('.order-actions').append($confirm).prop('hidden', false);
    announce($view, BANK_WAITING.heading);
  }

  /* Asks the shop to settle `order` (confirm/) at growing intervals, until Stripe has
     decided (paid or failed), the bank waits for the shopper, the shopper left this
     page, or a few minutes have passed. No answer, a 503 or a 202 means: ask again. */
  function confirmUntilSettled($view, order, { now = false } = {}) {
    const started = Date.now();
    let round = 0;
    showHeadline($view, CONFIRMING, '', true);
    showDetails($view, order);

    function askLater(retryAfterSeconds) {
      if (Date.now() - started >= CONFIRM_FOR_MS) {
        showHeadline($view, GAVE_UP);
        announce($view, GAVE_UP.lead);
        return;
      }
      const delay = CONFIRM_DELAYS_MS[Math.min(round, CONFIRM_DELAYS_MS.length - 1)];
      round += 1;
      setTimeout(ask, Math.max(delay, (retryAfterSeconds || 0) * 1000));
    }

    function onAnswer(body, error) {
      if (!onPage($view) || (error && error.handled)) return; // left, or logged out
      if (error && error.status === 404) {
        failed($view.find('.order-card').addClass('p-4'), error);
        return;
      }
      const latest = (body && body.order) || order;
      if (body && body.requires_action && body.client_secret) {
        showBankWaiting($view, latest, body.client_secret);
      } else if (isProcessing(latest)) {
        watchProcessing($view, latest);
      } else if (!awaitsOutcome(latest) && (isPaid(latest) || latest.status === 'FAILED')) {
        // Settled while the shopper waited here: a payment they just made.
        showOrder($view, latest, true);
        announce($view, isPaid(latest) ? JUST_PAID.heading : HEADLINES[latest.status].heading);
      } else {
        showDetails($view, latest);
        askLater(error && error.retryAfter);
      }
    }

    function ask() {
      if (!onPage($view)) return;
      Shop.payment.confirmOrder(order.id).then(
        ({ body }) => onAnswer(body, null),
        (error) => onAnswer(error.body, error),
      );
    }

    if (now) ask();
    else askLater(0);
  }

  /* A payment Stripe is processing: the order is read now and then (GET, which costs the
     shop no call to Stripe) until the webhook has settled it, for as long as the shopper
     stays on the page. */
  function watchProcessing($view, order) {
    let round = 0;
    showHeadline($view, PROCESSING);
    showDetails($view, order);
    announce($view, PROCESSING.heading);

    function readLater() {
      const delay = PROCESSING_DELAYS_MS[Math.min(round, PROCESSING_DELAYS_MS.length - 1)];
      round += 1;
      setTimeout(read, delay);
    }

    function onOrder(latest) {
      if (!onPage($view)) return;
      if (isProcessing(latest)) {
        showDetails($view, latest);
        readLater();
      } else if (isPaid(latest) || latest.status === 'FAILED') {
        showOrder($view, latest, true);
        announce($view, isPaid(latest) ? JUST_PAID.heading : HEADLINES[latest.status].heading);
      } else {
        confirmUntilSettled($view, latest, { now: true }); // pending, and no longer processing
      }
    }

    function read() {
      if (!onPage($view)) return;
      Shop.api.get(`/api/order/${order.id}/`, { auth: true }).then(
        ({ body }) => onOrder(body),
        (error) => {
          if (!onPage($view) || error.handled) return; // left, or logged out
          if (error.status === 404) failed($view.find('.order-card').addClass('p-4'), error);
          else readLater(); // no answer, or a 5xx: read again later
        },
      );
    }

    readLater();
  }

  /* An order just shown: followed while Stripe processes its payment, and confirmed
     with the shop while its outcome is unknown (`pending`: the pop-up got no answer, or
     one that left it open; `returned`: the shopper came back from a payment page). */
  function present($view, order, pending, justPaid = false, returned = false) {
    if (isProcessing(order)) watchProcessing($view, order);
    else if (!isPaid(order) && (pending || returned || awaitsOutcome(order))) {
      confirmUntilSettled($view, order, { now: returned });
    } else showOrder($view, order, justPaid);
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
    const seen = recent.get(id);
    recent.delete(id); // shown once; a reload asks the API
    if (seen && seen.order) {
      present($view, seen.order, seen.pending, true); // the pop-up just paid it
      return;
    }
    const $details = $card.children().detach();
    const load = () => {
      $card.empty().append(Shop.ui.spinner('Loading the order…'));
      Shop.api.get(`/api/order/${id}/`, { auth: true })
        .then(({ body }) => {
          $card.empty().append($details);
          // `seen`: the pop-up just paid it, and only the answer was lost; or the
          // shopper is back from a payment page.
          present($view, body, Boolean(seen && seen.pending), Boolean(seen), Boolean(seen && seen.returned));
        })
        .catch((error) => failed($card.addClass('p-4'), error, load));
    };
    load();
  };

  Shop.orders = {
    /* An order the API just answered, for its page (`pending`: its outcome is unknown). */
    remember(order, { pending = false } = {}) {
      recent.set(order.id, { order, pending });
    },
    /* Only the order's id is known (its answer was lost): its page loads and confirms it. */
    rememberPending(id) {
      recent.set(id, { order: null, pending: true });
    },
    /* The shopper is back from a payment page for this order: its page asks the shop at
       once how the payment ended (the address's word is never taken for it). */
    rememberReturn(id) {
      recent.set(id, { order: null, pending: true, returned: true });
    },
  };
})(window.Shop = window.Shop || {}, jQuery);
