from django.urls import path

from accounts import views

urlpatterns = [
    path("api-token-auth/", views.TokenView.as_view(), name="token-auth"),
    path("signup/", views.SignupView.as_view(), name="signup"),
]
