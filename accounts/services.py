"""Creating shoppers. The email is the username, matched case-insensitively."""

import unicodedata
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class SignupError(Exception):
    pass


def username_for(email: str) -> str:
    """The username for an email: the one place where emails are made comparable.

    Unicode NFKC, then case folding (so fullwidth letters, a decomposed accent or another
    case give the same username), then NFKC again so that the result is itself normalised
    and the function is idempotent (folding can leave an unnormalised sequence, e.g. "İ"
    followed by an accent). Accents are kept: x@éxample.com and x@example.com are two
    addresses. The database compares usernames byte for byte (accounts migration 0001).
    """
    folded = unicodedata.normalize("NFKC", email).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def sign_up(*, first_name: str, last_name: str, email: str, password: str) -> "User":
    User = get_user_model()
    candidate = User(
        username=username_for(email),
        email=email.strip(),
        first_name=first_name,
        last_name=last_name,
    )
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        raise SignupError(" ".join(error.messages)) from None
    if User.objects.filter(username=candidate.username).exists():
        raise SignupError("An account with this email already exists.")
    candidate.set_password(password)
    try:
        # The unique username settles two sign-ups racing with the same email.
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise SignupError("An account with this email already exists.") from None
    return candidate
