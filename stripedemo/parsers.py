"""The API's JSON parser: a body nested too deeply is the client's error, not a 500."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, with a body nested past Python's recursion limit answered 400.

    The json module raises RecursionError (not ValueError, all DRF catches) for about a
    thousand nested `[` or `{`: a 2 KB body that no client of the shop ever sends.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
