from django.urls import path

from orders import views, webhooks

urlpatterns = [
    path("order/", views.OrderList.as_view(), name="order-list"),
    path("order/<int:pk>/", views.OrderDetail.as_view(), name="order-detail"),
    path("order/<int:pk>/confirm/", views.ConfirmOrder.as_view(), name="order-confirm"),
    path("order/<int:pk>/pay/", views.PayOrderAgain.as_view(), name="order-pay"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe-webhook"),
]
