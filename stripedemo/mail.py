"""Mail backends for when there is no mail server (settings: EMAIL_BACKEND).

The process's standard output is its log, one JSON object per line (README, "Reading
the logs"): an email printed there would break every line-by-line reader (`| jq`,
CloudWatch Logs Insights), and in production put shoppers' addresses and receipts in
the log. So locally emails are printed on standard error, and in production without
EMAIL_HOST they are not sent at all, one log line each saying so.
"""

import logging
import sys
from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

log = logging.getLogger("stripedemo.mail")


class ConsoleEmailBackend(DjangoConsoleBackend):
    """Django's console backend, on standard error (standard output is the JSON log)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)


class UnsentEmailBackend(BaseEmailBackend):
    """No mail server is configured: nothing is sent, and nothing is said to be.

    Each message is one warning in the log, without its content or addresses; the
    backend reports it unsent, so a receipt stays due and goes out once EMAIL_HOST is
    set (within orders.receipts.RECEIPT_WINDOW). `check --deploy` warns (W002).
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            log.warning(
                "email not sent: no mail server is configured (EMAIL_HOST)",
                extra={"subject": message.subject, "recipients": len(message.recipients())},
            )
        return 0
