from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import idempotency, payments, services
from orders import schema as docs
from orders.models import Order
from orders.serializers import OrderSerializer, PayAgainSerializer, PlaceOrderSerializer
from stripedemo.errors import error_body


class OrderPagination(LimitOffsetPagination):
    """Only with ?limit=: without it the list keeps the original plain-list shape."""

    max_limit = 100


def order_response(request, order, http_status, error=None, intent=None):
    body = {"order": OrderSerializer(order, context={"request": request}).data}
    body = {**error_body(error), **body} if error else {"success": True, **body}
    if intent is not None and intent.get("status") == "requires_action":
        # The browser completes the card's 3-D Secure step with Stripe.js, then calls
        # confirm/; only the client secret of this PaymentIntent leaves the server.
        body.update(requires_action=True, client_secret=intent["client_secret"])
    return Response(body, status=http_status)


def settled_response(request, order, intent=None, paid_status=status.HTTP_200_OK):
    """Answer with what the order's state now is: paid, failed, or still waiting."""
    if order.status in (Order.Status.PAID, Order.Status.REFUNDED):
        return order_response(request, order, paid_status)
    if order.status == Order.Status.FAILED and not (
        intent is not None and intent.get("status") == "requires_action"
    ):
        return order_response(
            request,
            order,
            status.HTTP_402_PAYMENT_REQUIRED,
            error=order.failure_message or "Payment failed.",
        )
    return order_response(request, order, status.HTTP_202_ACCEPTED, intent=intent)


class OrderList(APIView):
    permission_classes = [IsAuthenticated]

    @docs.list_orders
    def get(self, request):
        orders = Order.objects.for_user(request.user)
        context = {"request": request}
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        if page is None:
            return Response(OrderSerializer(orders, many=True, context=context).data)
        return paginator.get_paginated_response(
            OrderSerializer(page, many=True, context=context).data
        )

    @docs.place_order
    def post(self, request):
        serializer = PlaceOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return place_and_pay(request, serializer.validated_data)
        if not 0 < len(key) <= idempotency.KEY_MAX_LENGTH:
            return Response(
                error_body("The Idempotency-Key header must be 1 to 255 characters."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            record, saved = idempotency.claim(
                request.user, key, idempotency.fingerprint(request.path, request.data)
            )
        except idempotency.IdempotencyError as error:
            extra = {"order_id": error.order_id} if error.order_id else {}
            return Response(error_body(error.message, **extra), status=error.http_status)
        if saved is not None:
            saved_status, saved_body = saved
            return Response(
                saved_body, status=saved_status, headers={"Idempotent-Replayed": "true"}
            )
        try:
            response = place_and_pay(
                request,
                serializer.validated_data,
                on_placed=lambda order: idempotency.attach_order(record, order),
            )
        except Exception:
            idempotency.abandon(record)
            raise
        idempotency.finish(record, response.status_code, response.data)
        return response


def place_and_pay(request, data, on_placed=None):
    order = services.place_order(
        user=request.user, product=data["product"], quantity=data["quantity"]
    )
    if on_placed is not None:
        on_placed(order)
    try:
        if data.get("token"):
            order, intent = services.charge_with_token(order, data["token"]), None
        else:
            order, intent = services.pay_with_payment_method(order, data["payment_method"])
    except payments.PaymentError as error:
        order.refresh_from_db()
        return order_response(request, order, error.http_status, error=error.message)
    return settled_response(request, order, intent, paid_status=status.HTTP_201_CREATED)


def own_order(request, pk):
    return get_object_or_404(Order.objects.for_user(request.user), pk=pk)


class OrderDetail(APIView):
    permission_classes = [IsAuthenticated]

    @docs.retrieve_order
    def get(self, request, pk):
        return Response(OrderSerializer(own_order(request, pk), context={"request": request}).data)


class ConfirmOrder(APIView):
    """After the browser's 3-D Secure step: settle the order from what Stripe says."""

    permission_classes = [IsAuthenticated]

    @docs.confirm_order
    def post(self, request, pk):
        try:
            order, intent = services.refresh_from_payment_intent(own_order(request, pk))
        except payments.PaymentError as error:
            order = own_order(request, pk)
            return order_response(request, order, error.http_status, error=error.message)
        return settled_response(request, order, intent)


class PayOrderAgain(APIView):
    """Pay a failed order with another card: a new attempt on the same PaymentIntent."""

    permission_classes = [IsAuthenticated]

    @docs.pay_again
    def post(self, request, pk):
        serializer = PayAgainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = own_order(request, pk)
        try:
            order, intent = services.pay_again(order, serializer.validated_data["payment_method"])
        except services.OrderError as error:
            return order_response(request, order, error.http_status, error=error.message)
        except payments.PaymentError as error:
            order.refresh_from_db()
            return order_response(request, order, error.http_status, error=error.message)
        return settled_response(request, order, intent)
