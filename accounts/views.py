from typing import Any

from django.conf import settings
from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from accounts import schema as docs
from accounts.lockout import api_lockout_response
from accounts.serializers import SignupSerializer, TokenRequestSerializer
from accounts.services import LoginLockedOut, SignupError, log_in, sign_up
from stripedemo.errors import error_body, first_message
from stripedemo.throttling import ClientAddressThrottleMixin


class AuthRateThrottle(ClientAddressThrottleMixin, AnonRateThrottle):
    """Per client address, for the endpoints that guess passwords or create accounts."""

    scope = "auth"

    def get_rate(self) -> str:
        # Read at request time, so that the limit is a plain setting (and testable).
        return settings.AUTH_THROTTLE_RATE


def _read_data(request: Request) -> dict[str, Any] | list[Any]:
    try:
        return request.data
    except ParseError as error:
        raise ValidationError({"non_field_errors": [str(error.detail)]}) from None


class SignupView(APIView):
    authentication_classes = []
    throttle_classes = [AuthRateThrottle]

    @docs.sign_up
    def post(self, request: Request) -> Response:
        serializer = SignupSerializer(data=_read_data(request))
        if not serializer.is_valid():
            return Response(
                error_body(first_message(serializer.errors)), status=status.HTTP_400_BAD_REQUEST
            )
        try:
            sign_up(**serializer.validated_data)
        except SignupError as error:
            return Response(error_body(str(error)), status=status.HTTP_400_BAD_REQUEST)
        return Response({"success": True}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    authentication_classes = []
    throttle_classes = [AuthRateThrottle]

    @docs.obtain_token
    def post(self, request: Request) -> Response | HttpResponse:
        serializer = TokenRequestSerializer(data=_read_data(request))
        user = None
        if serializer.is_valid():
            try:
                user = log_in(
                    request,
                    email=serializer.validated_data["username"],
                    password=serializer.validated_data["password"],
                )
            except LoginLockedOut:
                return api_lockout_response()
        if user is None:
            return Response(error_body("authorization failure"), status=status.HTTP_400_BAD_REQUEST)
        return Response({"token": str(AccessToken.for_user(user))})
