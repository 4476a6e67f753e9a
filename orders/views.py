from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import payments, services
from orders.models import Order
from orders.serializers import OrderSerializer, PlaceOrderSerializer
from stripedemo.errors import error_body


class OrderPagination(LimitOffsetPagination):
    """Only with ?limit=: without it the list keeps the original plain-list shape."""

    max_limit = 100


def order_response(order, http_status, error=None):
    body = {"order": OrderSerializer(order).data}
    body = {**error_body(error), **body} if error else {"success": True, **body}
    return Response(body, status=http_status)


class OrderList(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        orders = Order.objects.for_user(request.user)
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        if page is None:
            return Response(OrderSerializer(orders, many=True).data)
        return paginator.get_paginated_response(OrderSerializer(page, many=True).data)

    def post(self, request):
        serializer = PlaceOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = services.place_order(
            user=request.user, product=data["product"], quantity=data["quantity"]
        )
        try:
            order = services.charge_with_token(order, data["token"])
        except payments.PaymentError as error:
            order.refresh_from_db()
            return order_response(order, error.http_status, error=error.message)
        return order_response(order, status.HTTP_201_CREATED)


class OrderDetail(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request, pk):
        order = get_object_or_404(Order.objects.for_user(request.user), pk=pk)
        return Response(OrderSerializer(order).data)
