"""One log line per event, tagged with the id of the request that caused it."""

import logging
import threading

_current = threading.local()


def set_request_id(request_id):
    _current.request_id = request_id


def get_request_id():
    return getattr(_current, "request_id", "-")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = get_request_id()
        return True
