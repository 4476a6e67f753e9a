/* Money and dates for display.
 *
 * The API gives order amounts as integers in the currency's smallest unit (1999 is
 * $19.99) and product prices as decimal strings ("19.99"). Both are shown with
 * Intl.NumberFormat in the item's own currency.
 */
(function (Shop) {
  'use strict';

  // Stripe's zero-decimal currencies: an amount of 500 JPY is ¥500.
  const ZERO_DECIMAL = new Set([
    'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
    'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
  ]);
  // Stripe's three-decimal currencies: amounts are in thousandths.
  const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

  const formatters = new Map();

  function decimals(currency) {
    const code = String(currency || '').toLowerCase();
    if (ZERO_DECIMAL.has(code)) return 0;
    if (THREE_DECIMAL.has(code)) return 3;
    return 2;
  }

  function formatter(currency) {
    const code = String(currency || 'usd').toUpperCase();
    if (!formatters.has(code)) {
      formatters.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: code }));
    }
    return formatters.get(code);
  }

  /* An amount in the smallest unit, e.g. money(1999, 'usd') is "$19.99". */
  function money(amount, currency) {
    return formatter(currency).format(Number(amount) / 10 ** decimals(currency));
  }

  /* A decimal price string in the smallest unit, exactly: "19.99" is 1999. */
  function priceToAmount(price, currency) {
    const places = decimals(currency);
    const [whole, fraction = ''] = String(price).split('.');
    const cents = (fraction + '000').slice(0, places);
    return Number(whole) * 10 ** places + Number(cents || 0);
  }

  /* A product's price, e.g. price("19.99", "usd") is "$19.99". */
  function price(value, currency) {
    return money(priceToAmount(value, currency), currency);
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function date(iso) {
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? '' : dateFormat.format(when);
  }

  Shop.format = { money, price, priceToAmount, date };
})(window.Shop = window.Shop || {});
