"""Creating shoppers and logging them in. The email is the username, matched
case-insensitively."""

import unicodedata
from typing import TYPE_CHECKING

from axes.utils import reset as forget_failed_logins
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request


class SignupError(Exception):
    pass


class LoginLockedOut(Exception):
    """Too many failed logins for this account from this client address (django-axes)."""


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


def log_in(request: "Request", *, email: str, password: str) -> "User | None":
    """The user with this email and password, or None; LoginLockedOut while locked out.

    The request goes to authenticate() so that django-axes counts a failure against the
    account and the client's address, and refuses a locked-out pair, right password
    included. A success forgets the pair's failures, as axes does after the admin's logins
    (AXES_RESET_ON_SUCCESS acts on Django's user_logged_in, which a token login does not
    send: it opens no session).
    """
    username = username_for(email)
    user = authenticate(request, username=username, password=password)
    if user is None:
        # Set by axes when this failure reached the limit, or the pair was locked already.
        if getattr(request, "axes_locked_out", False):
            raise LoginLockedOut
        return None
    address = getattr(request, "axes_ip_address", None)
    if address:
        forget_failed_logins(ip=address, username=username)
    return user
