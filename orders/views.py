"""Thin views: validate, call one use case of `orders.checkout`, answer in one place.

`payment_response` is the only code that turns a payment's result into HTTP: paid
201/200, pending 202 (with the client secret when the bank waits for the shopper, or
the order's `payment_processing` when Stripe decides later),
declined 402, refused 400, unknown outcome 503 (the order kept PENDING, never shown as a
failure), misconfigured 500, and 409 for an order that cannot take the request.
"""

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from orders import checkout, payments
from orders import schema as docs
from orders.idempotency import idempotent
from orders.models import Order
from orders.serializers import (
    OrderSerializer,
    PayAgainSerializer,
    PlaceOrderSerializer,
    payment_source,
)
from orders.throttling import PAYMENT_THROTTLES, ConfirmThrottle, record_decline
from stripedemo.errors import error_body

ERROR_STATUS = {
    payments.CardDeclined: status.HTTP_402_PAYMENT_REQUIRED,
    payments.PaymentRejected: status.HTTP_400_BAD_REQUEST,
    payments.PaymentUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    payments.PaymentMisconfigured: status.HTTP_500_INTERNAL_SERVER_ERROR,
}


class OrderPagination(LimitOffsetPagination):
    """Only with ?limit=: without it the list keeps the original plain-list shape."""

    max_limit = 100


def order_body(request: Request, order: Order, error: str | None = None) -> dict[str, Any]:
    body = {"order": OrderSerializer(order, context={"request": request}).data}
    return {**error_body(error), **body} if error else {"success": True, **body}


def payment_response(
    request: Request, result: checkout.PaymentResult, paid_status: int = status.HTTP_200_OK
) -> Response:
    """The answer to any payment request, from the order's state and what Stripe said."""
    order, error = result.order, result.error
    if order.status in (Order.Status.PAID, Order.Status.REFUNDED):
        return Response(order_body(request, order), status=paid_status)
    if isinstance(error, payments.PaymentUnavailable) or (
        error is not None and order.outcome_unknown()
    ):
        # Unknown, never a failure: the page waits on the order while it is settled.
        return Response(
            order_body(request, order, error.message), status=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    if result.client_secret:
        # The bank waits for the shopper (even on a failed order paid again): the browser
        # completes the card's 3-D Secure step with Stripe.js, then calls confirm/; only
        # the client secret of this PaymentIntent leaves the server.
        body = order_body(request, order)
        body.update(requires_action=True, client_secret=result.client_secret)
        return Response(body, status=status.HTTP_202_ACCEPTED)
    if error is not None:
        message = order.failure_message or error.message
        return Response(order_body(request, order, message), status=ERROR_STATUS[type(error)])
    if order.payment_processing():
        # A bank debit (even one paying a failed order again): decided later, by webhook.
        return Response(order_body(request, order), status=status.HTTP_202_ACCEPTED)
    if order.status == Order.Status.FAILED:
        return Response(
            order_body(request, order, order.failure_message or "Payment failed."),
            status=status.HTTP_402_PAYMENT_REQUIRED,
        )
    return Response(order_body(request, order), status=status.HTTP_202_ACCEPTED)


def count_decline(request: Request, result: checkout.PaymentResult, response: Response) -> None:
    """A card declined in this answer counts toward the shopper's limit on declines."""
    if isinstance(result.error, payments.CardDeclined) and response.status_code == 402:
        record_decline(request)


def conflict_response(request: Request, conflict: checkout.OrderConflict) -> Response:
    order = Order.objects.with_payment_state().get(pk=conflict.order.pk)
    return Response(order_body(request, order, conflict.message), status=status.HTTP_409_CONFLICT)


def frontend_url(request: Request) -> str:
    """Where the shop's front end is served: FRONTEND_URL (required in production, where
    it is a site of its own, e.g. the S3 website), else this request's own origin (Django
    serves the front end itself, locally)."""
    return settings.FRONTEND_URL or request.build_absolute_uri("/")


def own_order(request: Request, pk: int) -> Order:
    return get_object_or_404(Order.objects.for_user(request.user), pk=pk)  # type: ignore[arg-type]  # IsAuthenticated


class PaymentView(APIView):
    """A POST that moves money: logged in, throttled, and honouring Idempotency-Key."""

    permission_classes = [IsAuthenticated]
    throttle_classes = PAYMENT_THROTTLES
    paid_status: int = status.HTTP_200_OK

    def answer(self, request: Request, result: checkout.PaymentResult) -> Response:
        """The answer to this payment request (saved with its Idempotency-Key)."""
        return payment_response(request, result, paid_status=self.paid_status)

    def answered(self, request: Request, result: checkout.PaymentResult) -> Response:
        """The answer given: the one saved with the request's key, else rendered now."""
        claim = request.idempotency  # type: ignore[attr-defined]  # set by @idempotent
        saved = claim.response if claim is not None else None
        response = saved if saved is not None else self.answer(request, result)
        count_decline(request, result, response)
        return response

    def current_state(self, request: Request, order: Order) -> Response:
        """A replay whose first answer was lost or unknown: the order as Stripe has it now."""
        result = checkout.confirm_order(order=order)
        response = self.answer(request, result)
        count_decline(request, result, response)
        return response


class OrderList(PaymentView):
    paid_status = status.HTTP_201_CREATED

    def get_throttles(self) -> list[BaseThrottle]:
        return super().get_throttles() if self.request.method == "POST" else []

    @docs.list_orders
    def get(self, request: Request) -> Response:
        orders = Order.objects.for_user(request.user)  # type: ignore[arg-type]  # IsAuthenticated
        context = {"request": request}
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        if page is None:
            return Response(OrderSerializer(orders, many=True, context=context).data)
        return paginator.get_paginated_response(
            OrderSerializer(page, many=True, context=context).data
        )

    @docs.place_order
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = PlaceOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = checkout.place_and_pay(
            user=request.user,  # type: ignore[arg-type]  # IsAuthenticated
            product=data["product"],
            quantity=data["quantity"],
            source=payment_source(data),
            frontend_url=frontend_url(request),
            client_key=request.idempotency,  # type: ignore[attr-defined]  # @idempotent
        )
        return self.answered(request, result)


class OrderDetail(APIView):
    permission_classes = [IsAuthenticated]

    @docs.retrieve_order
    def get(self, request: Request, pk: int) -> Response:
        return Response(OrderSerializer(own_order(request, pk), context={"request": request}).data)


class ConfirmOrder(APIView):
    """After the browser's 3-D Secure step, or while the page waits on a lost answer:
    settle the order from what Stripe says."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [ConfirmThrottle]

    @docs.confirm_order
    def post(self, request: Request, pk: int) -> Response:
        result = checkout.confirm_order(order=own_order(request, pk))
        response = payment_response(request, result)
        count_decline(request, result, response)
        return response


class PayOrderAgain(PaymentView):
    """Pay a failed order another way (a card, a ConfirmationToken): a new attempt on
    the same PaymentIntent."""

    @docs.pay_again
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        serializer = PayAgainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = own_order(request, pk)
        try:
            result = checkout.pay_again(
                order=order,
                source=payment_source(serializer.validated_data),
                frontend_url=frontend_url(request),
                client_key=request.idempotency,  # type: ignore[attr-defined]  # @idempotent
            )
        except checkout.OrderConflict as conflict:
            return conflict_response(request, conflict)
        return self.answered(request, result)
