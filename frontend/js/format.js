/* Money and dates for display.
 *
 * The API gives order amounts as integers in the currency's smallest unit (1999 is
 * $19.99) and product prices as decimal strings ("19.99"). Both are shown with
 * Intl.NumberFormat in the item's own currency.
 */
(function (Shop) {
  'use strict';

  const formatters = new Map();

  /* Stripe's decimals for a currency: 2, unless config.json (built from the server's
   * catalog/currency.py) lists it, e.g. jpy 0 (500 is ¥500), kwd 3 (5120 is KWD 5.120). */
  function decimals(currency) {
    const code = String(currency || '').toLowerCase();
    const exponents = Shop.config.currencyExponents;
    return Object.prototype.hasOwnProperty.call(exponents, code) ? exponents[code] : 2;
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
