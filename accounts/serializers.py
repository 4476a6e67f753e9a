from typing import Any

from rest_framework import serializers

REQUIRED_MESSAGES = {
    "required": "{label} is required.",
    "blank": "{label} is required.",
    "null": "{label} is required.",
}


def _required(label: str) -> dict[str, Any]:
    return {key: message.format(label=label) for key, message in REQUIRED_MESSAGES.items()}


class SignupSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, error_messages=_required("First name"))
    last_name = serializers.CharField(max_length=150, error_messages=_required("Last name"))
    email = serializers.EmailField(
        max_length=150,
        error_messages={**_required("Email"), "invalid": "Enter a valid email address."},
    )
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, write_only=True, error_messages=_required("Password")
    )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
