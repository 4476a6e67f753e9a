from django.urls import path

from orders import views

urlpatterns = [
    path("order/", views.OrderList.as_view(), name="order-list"),
    path("order/<int:pk>/", views.OrderDetail.as_view(), name="order-detail"),
]
