"""OpenAPI description of sign-up and login (see stripedemo/schema.py)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers

from accounts.serializers import SignupSerializer, TokenRequestSerializer
from stripedemo.errors import error_body
from stripedemo.schema import BODY_ERRORS, RETRY_AFTER, THROTTLED, TrueField, error


class SignupResultSerializer(serializers.Serializer):
    """The account was created; log in with `POST /api/api-token-auth/`."""

    success = TrueField()

    class Meta:
        ref_name = "SignupResult"


class TokenSerializer(serializers.Serializer):
    """A login token."""

    token = serializers.CharField(
        help_text="A JWT. Send it as `Authorization: JWT <token>` or `Bearer <token>`; "
        "it expires after `JWT_ACCESS_TOKEN_MINUTES`."
    )

    class Meta:
        ref_name = "Token"


PASSWORD = "a-long-passphrase"

sign_up = extend_schema(
    operation_id="signup",
    tags=["accounts"],
    summary="Create a shopper account",
    description=(
        "The email is the username (matched case-insensitively). The password must pass "
        "Django's password validators. Throttled per client address."
    ),
    request=SignupSerializer,
    responses={
        201: SignupResultSerializer,
        400: error("Invalid input, a weak password, or the email is taken."),
        **BODY_ERRORS,
        **THROTTLED,
    },
    parameters=[RETRY_AFTER],
    examples=[
        OpenApiExample(
            "New shopper",
            value={
                "first_name": "foo",
                "last_name": "bar",
                "email": "foobar@example.com",
                "password": PASSWORD,
            },
            request_only=True,
        ),
        OpenApiExample(
            "Signed up", value={"success": True}, response_only=True, status_codes=["201"]
        ),
        OpenApiExample(
            "Email taken",
            value=error_body("An account with this email already exists."),
            response_only=True,
            status_codes=["400"],
        ),
    ],
)

obtain_token = extend_schema(
    operation_id="token_auth",
    tags=["accounts"],
    summary="Log in: trade email and password for a token",
    description=(
        "`username` is the email the account was created with. A wrong email or password "
        "(or a missing one) is the same 400 `authorization failure`, so it tells a guesser "
        "nothing. Throttled per client address. After `AXES_FAILURE_LIMIT` (5) failed logins "
        "for one email from one address, logins for it from there answer 429, the right "
        "password included, until `AXES_COOLOFF_MINUTES` (15) pass without another try."
    ),
    request=TokenRequestSerializer,
    responses={
        200: TokenSerializer,
        400: error("Wrong email or password."),
        **BODY_ERRORS,
        429: error(
            "Too many logins from this address (`THROTTLE_AUTH_RATE`), or too many failed "
            "logins for this email from this address (`AXES_FAILURE_LIMIT`); retry after "
            "`Retry-After` seconds."
        ),
    },
    parameters=[RETRY_AFTER],
    examples=[
        OpenApiExample(
            "Log in",
            value={"username": "foobar@example.com", "password": PASSWORD},
            request_only=True,
        ),
        OpenApiExample(
            "Token",
            value={
                "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl"
            },
            response_only=True,
            status_codes=["200"],
        ),
        OpenApiExample(
            "Refused",
            value=error_body("authorization failure"),
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "Locked out",
            value=error_body(
                "Too many failed logins for this account from your address. "
                "Try again in 15 minutes."
            ),
            response_only=True,
            status_codes=["429"],
        ),
    ],
)
