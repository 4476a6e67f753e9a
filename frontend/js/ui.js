/* Small DOM helpers shared by the views: templates, alerts, busy buttons, form errors,
 * status badges. Text from the API is always inserted with .text(), never as HTML.
 */
(function (Shop, $) {
  'use strict';

  /* A copy of a <template>'s content, as a jQuery object. */
  function template(id) {
    return $(document.getElementById(id).content.cloneNode(true).children);
  }

  /* A Bootstrap alert holding `text`; `type` is success, danger, warning or info. */
  function alert(text, type = 'danger', dismissible = false) {
    const icons = {
      success: 'bi-check-circle', danger: 'bi-exclamation-triangle',
      warning: 'bi-exclamation-circle', info: 'bi-info-circle',
    };
    const $alert = $('<div class="alert d-flex align-items-start gap-2 mb-3"></div>')
      .addClass(`alert-${type}`)
      .append($('<i aria-hidden="true"></i>').addClass(`bi ${icons[type] || icons.info} flex-shrink-0`))
      .append($('<div class="flex-grow-1"></div>').text(text));
    if (dismissible) {
      $alert.addClass('alert-dismissible fade show')
        .append('<button type="button" class="btn-close" data-bs-dismiss="alert" aria-label="Close"></button>');
    }
    return $alert;
  }

  /* Marks a button as working: disabled, with its spinner shown (or back). */
  function busy($button, isBusy) {
    $button.prop('disabled', isBusy).attr('aria-busy', isBusy ? 'true' : null);
    $button.find('.spinner-border').toggleClass('d-none', !isBusy);
  }

  /* Form errors: the API's message next to the field it is about, or above the button. */
  function clearFormErrors($form) {
    $form.find('.is-invalid').removeClass('is-invalid').removeAttr('aria-invalid');
    $form.find('[data-error-for]').text('');
    $form.find('.form-error').empty();
  }

  function showFormError($form, message, field) {
    const $feedback = field ? $form.find(`[data-error-for="${field}"]`) : $();
    if ($feedback.length) {
      const $input = $form.find(`[name="${field}"]`);
      $feedback.text(message);
      $input.addClass('is-invalid').attr('aria-invalid', 'true').trigger('focus');
    } else {
      $form.find('.form-error').empty().append(alert(message));
    }
  }

  /* Several fields' messages at once ([{field, message}]), each under its field; the
     first field gets the focus. */
  function showFieldErrors($form, errors) {
    errors.forEach(({ field, message }) => {
      $form.find(`[data-error-for="${field}"]`).text(message);
      $form.find(`[name="${field}"]`).addClass('is-invalid').attr('aria-invalid', 'true');
    });
    if (errors.length) $form.find(`[name="${errors[0].field}"]`).trigger('focus');
  }

  const STATUS = {
    PAID: { label: 'Paid', css: 'text-bg-success', icon: 'bi-check-circle-fill' },
    PENDING: { label: 'Pending', css: 'text-bg-warning', icon: 'bi-hourglass-split' },
    // Not an order status of the API: a PENDING order whose payment Stripe is processing.
    PROCESSING: { label: 'Processing', css: 'text-bg-info', icon: 'bi-bank' },
    FAILED: { label: 'Failed', css: 'text-bg-danger', icon: 'bi-x-circle-fill' },
    REFUNDED: { label: 'Refunded', css: 'text-bg-secondary', icon: 'bi-arrow-counterclockwise' },
  };

  /* Fills a .badge with an order status: "PAID" shows as a green "Paid" badge. */
  function statusBadge($badge, status) {
    const look = STATUS[status] || { label: status, css: 'text-bg-light', icon: 'bi-question-circle' };
    $badge.removeClass('text-bg-success text-bg-warning text-bg-info text-bg-danger text-bg-secondary text-bg-light')
      .addClass(look.css)
      .attr('data-status', status)
      .empty()
      .append($('<i aria-hidden="true"></i>').addClass(`bi ${look.icon} me-1`))
      .append(document.createTextNode(look.label));
  }

  function spinner(text) {
    return $('<div class="d-flex align-items-center gap-2 text-body-secondary py-5 justify-content-center" role="status"></div>')
      .append('<span class="spinner-border spinner-border-sm" aria-hidden="true"></span>')
      .append($('<span></span>').text(text));
  }

  function imageUrl(url) {
    return url || 'img/no-image.svg';
  }

  Shop.ui = {
    template, alert, busy, clearFormErrors, showFormError, showFieldErrors, statusBadge, spinner, imageUrl,
  };
})(window.Shop = window.Shop || {}, jQuery);
