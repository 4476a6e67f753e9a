"""The API's OpenAPI description (drf-spectacular): the pieces every app shares.

- the login token's two header forms as security schemes (`JWT <token>`, `Bearer <token>`),
- the JSON error envelope of stripedemo.errors and the error responses many operations share,
- a hook describing the two plain Django views drf-spectacular cannot see by itself:
  GET /api/health/ and POST /api/stripe/webhook/.

Each app's own pieces are in its `schema.py`, next to its views. The schema is served at
/api/schema/, shown at /api/docs/, and committed as docs/openapi.yaml; after changing the
API, regenerate that file with

    python manage.py spectacular --file docs/openapi.yaml --validate

(tests/api_schema/test_schema.py fails until the committed file matches the code).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

JWT_SCHEME = "jwtAuth"
BEARER_SCHEME = "bearerAuth"


class ShopJWTScheme(OpenApiAuthenticationExtension):
    """simplejwt with both header types the shop accepts, as two alternative schemes.

    (drf-spectacular's own simplejwt extension describes only the first header type.)
    """

    target_class = "rest_framework_simplejwt.authentication.JWTAuthentication"
    name = [JWT_SCHEME, BEARER_SCHEME]
    priority = 1

    def get_security_requirement(self, auto_schema):
        return [{JWT_SCHEME: []}, {BEARER_SCHEME: []}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": (
                    "The original clients' form: `Authorization: JWT <token>`, the token "
                    "from `POST /api/api-token-auth/`. In the docs page enter "
                    "`JWT <token>`, prefix included."
                ),
            },
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": (
                    "The same token as `Authorization: Bearer <token>`. In the docs page "
                    "enter the token alone."
                ),
            },
        ]


@extend_schema_field({"type": "boolean", "enum": [True]})
class TrueField(serializers.BooleanField):
    """A `true` that is always true (the `success` of a success envelope)."""


@extend_schema_field({"type": "boolean", "enum": [False]})
class FalseField(serializers.BooleanField):
    """A `false` that is always false (the `success` of an error envelope)."""


class ErrorSerializer(serializers.Serializer):
    """An error (stripedemo.errors.error_body): one sentence, twice; `fields` for bad input."""

    success = FalseField()
    error = serializers.CharField(help_text="One sentence saying what went wrong.")
    detail = serializers.CharField(
        help_text="The same sentence (the original clients read `detail`)."
    )
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For invalid input: the messages for each field by field name "
        "(`non_field_errors` for the body as a whole).",
    )

    class Meta:
        ref_name = "Error"


def error(description, serializer=ErrorSerializer):
    return OpenApiResponse(serializer, description=description)


UNAUTHENTICATED = {
    401: error(
        "No valid login token: send `Authorization: JWT <token>` (or `Bearer <token>`) "
        "with a token from `POST /api/api-token-auth/`."
    )
}
# Every request with a body; 415 only when the shop runs with DJANGO_DEBUG off (with it
# on, the browsable API also takes HTML forms).
BODY_ERRORS = {
    413: error("The request body is over 256 KiB."),
    415: error("The request body is not JSON (`Content-Type: application/json`)."),
}
THROTTLED = {
    429: error(
        "Too many sign-ups or logins from this address (`THROTTLE_AUTH_RATE`); "
        "retry after `Retry-After` seconds."
    )
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until this address may try again.",
)


# The plain Django views, described by hand. Keep in step with stripedemo/health.py and
# orders/webhooks.py (tests/api_schema/test_fuzz.py sends them what this allows).
def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema):
    return {"application/json": {"schema": schema}}


ERROR_REF = _ref("Error")

PLAIN_VIEW_COMPONENTS = {
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "database": {"type": "string", "enum": ["ok", "unavailable"]},
        },
        "required": ["status", "database"],
    },
    "StripeEvent": {
        "type": "object",
        "description": (
            "A Stripe event as Stripe sends it "
            "(https://docs.stripe.com/api/events/object); only the fields the shop reads "
            "are listed."
        ),
        "properties": {
            "id": {"type": "string", "example": "evt_1Nq2"},
            "object": {"type": "string", "enum": ["event"]},
            "type": {"type": "string", "example": "charge.succeeded"},
            "data": {
                "type": "object",
                "properties": {
                    "object": {
                        "type": "object",
                        "description": "The charge or PaymentIntent; its "
                        "`metadata.order_id` names the order.",
                        "additionalProperties": True,
                    }
                },
                "required": ["object"],
            },
            "request": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "id": {"type": "string", "nullable": True},
                    "idempotency_key": {"type": "string", "nullable": True},
                },
            },
        },
        "required": ["id", "object", "type", "data"],
    },
    "WebhookReceived": {
        "type": "object",
        "properties": {
            "received": {"type": "boolean", "enum": [True]},
            "outcome": {
                "type": "string",
                "enum": ["processed", "duplicate", "ignored", "unknown_order"],
                "description": "`processed`: the order was updated (or already was); "
                "`duplicate`: this event id was seen before; `ignored`: an event type the "
                "shop does not handle; `unknown_order`: it names no order of this shop.",
            },
        },
        "required": ["received", "outcome"],
    },
}

PLAIN_VIEW_PATHS = {
    "/api/health/": {
        "get": {
            "operationId": "health",
            "summary": "Is this instance able to serve?",
            "description": (
                "The load balancer's health check: one trivial database query. Answered "
                "before host validation and the HTTPS redirect; never cached, not "
                "authenticated, not throttled. `HEAD` answers the same without a body."
            ),
            "tags": ["health"],
            "responses": {
                "200": {
                    "description": "The instance and its database answer.",
                    "headers": {
                        "Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}
                    },
                    "content": _json(_ref("Health")),
                },
                "503": {
                    "description": "The database does not answer: stop sending traffic here.",
                    "headers": {
                        "Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}
                    },
                    "content": _json(_ref("Health")),
                },
            },
        }
    },
    "/api/stripe/webhook/": {
        "post": {
            "operationId": "stripe_webhook",
            "summary": "Stripe tells the shop what happened to a payment",
            "description": (
                "For Stripe, not for shoppers: point a webhook endpoint at this URL for "
                "`charge.succeeded`, `charge.failed`, `charge.refunded`, "
                "`payment_intent.succeeded`, `payment_intent.payment_failed` and "
                "`payment_intent.requires_action`, and set its signing secret as "
                "`STRIPE_WEBHOOK_SECRET`. The signature is checked over the exact bytes "
                "received; anything unsigned or forged is a 400 and changes nothing. Each "
                "event is applied once; a redelivery is acknowledged and ignored."
            ),
            "tags": ["stripe"],
            "parameters": [
                {
                    "in": "header",
                    "name": "Stripe-Signature",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Stripe's signature of the body: `t=<timestamp>,v1=<hmac>`.",
                    "example": "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e",
                }
            ],
            "requestBody": {"required": True, "content": _json(_ref("StripeEvent"))},
            "responses": {
                "200": {
                    "description": "The event was verified and handled.",
                    "content": _json(_ref("WebhookReceived")),
                },
                "400": {
                    "description": "Missing, invalid or expired `Stripe-Signature`.",
                    "content": {
                        "application/json": {
                            "schema": ERROR_REF,
                            "example": {
                                "success": False,
                                "error": "Invalid or missing Stripe signature.",
                                "detail": "Invalid or missing Stripe signature.",
                            },
                        }
                    },
                },
                "413": {
                    "description": "The request body is over 256 KiB.",
                    "content": _json(ERROR_REF),
                },
            },
        }
    },
}


def add_plain_django_views(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the views that are not DRF's."""
    result["paths"].update(PLAIN_VIEW_PATHS)
    result["paths"] = dict(sorted(result["paths"].items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PLAIN_VIEW_COMPONENTS)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
