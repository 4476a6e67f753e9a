/* The shop's API: one request function over jQuery.ajax.
 *
 * - Paths are joined to Shop.config.apiBaseUrl ("" when Django serves this site, the
 *   API's absolute URL when it is hosted on S3).
 * - `auth: true` sends "Authorization: JWT <token>". A missing or expired token, or a
 *   401 from the server, ends the session and fires "shop:unauthorized" (the app sends
 *   the shopper to log in); the promise then rejects with an error marked `handled`.
 * - Resolves with {status, body}; rejects with an ApiError carrying a sentence for the
 *   shopper (`message`), the HTTP status (0 when the server was not reached or did not
 *   answer in time), the JSON body, if any (every error body of the API has "error"),
 *   and `retryAfter`, the seconds a 429 or 503 asks to wait (0 when it does not say).
 */
(function (Shop, $) {
  'use strict';

  class ApiError extends Error {
    constructor(message, status, body) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.body = body || null;
      this.handled = false;
      this.retryAfter = 0;
    }
  }

  /* Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110). */
  function retryAfter(xhr) {
    const value = xhr.getResponseHeader('Retry-After');
    if (!value) return 0;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const when = Date.parse(value);
    return Number.isNaN(when) ? 0 : Math.max(0, Math.ceil((when - Date.now()) / 1000));
  }

  function baseUrl() {
    return String((Shop.config && Shop.config.apiBaseUrl) || '').replace(/\/+$/, '');
  }

  function unauthorized(message) {
    Shop.session.end();
    $(document).trigger('shop:unauthorized', [message]);
    const error = new ApiError(message, 401, null);
    error.handled = true;
    return error;
  }

  function messageFor(xhr, textStatus) {
    const body = xhr.responseJSON;
    if (body && (body.error || body.detail)) return String(body.error || body.detail);
    if (textStatus === 'timeout') return 'The shop took too long to answer.';
    if (xhr.status === 0) return 'Could not reach the shop: check your connection.';
    // No sentence from the shop: say it plainly, without status codes.
    if (xhr.status >= 500) return 'The shop ran into a problem on its side. Please try again in a moment.';
    return 'The shop could not do that. Please reload the page and try again.';
  }

  function request(method, path, options = {}) {
    const headers = { Accept: 'application/json', ...(options.headers || {}) };
    if (options.auth) {
      if (!Shop.session.token()) {
        return Promise.reject(unauthorized('Please log in to continue.'));
      }
      if (Shop.session.isExpired()) {
        return Promise.reject(unauthorized('Your session has expired. Please log in again.'));
      }
      headers.Authorization = `JWT ${Shop.session.token()}`;
    }
    return new Promise((resolve, reject) => {
      $.ajax({
        url: baseUrl() + path,
        method,
        headers,
        data: options.data === undefined ? undefined : JSON.stringify(options.data),
        contentType: 'application/json',
        dataType: 'json',
        timeout: options.timeout || 30000,
      })
        .done((body, textStatus, xhr) => resolve({ status: xhr.status, body }))
        .fail((xhr, textStatus) => {
          if (xhr.status === 401 && options.auth) {
            reject(unauthorized('Your session has expired or is no longer valid. Please log in again.'));
            return;
          }
          const error = new ApiError(messageFor(xhr, textStatus), xhr.status, xhr.responseJSON);
          error.retryAfter = retryAfter(xhr);
          reject(error);
        });
    });
  }

  Shop.api = {
    ApiError,
    get: (path, options) => request('GET', path, options),
    post: (path, data, options) => request('POST', path, { ...options, data }),
  };
})(window.Shop = window.Shop || {}, jQuery);
