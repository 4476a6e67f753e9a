"""Creating shoppers. The email is the username, matched case-insensitively."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


class SignupError(Exception):
    pass


def username_for(email):
    return email.strip().lower()


def find_user_by_email(email):
    return get_user_model().objects.filter(username=username_for(email)).first()


def sign_up(*, first_name, last_name, email, password):
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
