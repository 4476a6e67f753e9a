"""Stripe's form encoding (``metadata[order_id]=42``, ``expand[0]=x``) and
the parameter checks every endpoint shares."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import ParamError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(text: str) -> dict[str, Any]:
    """Decode bracket notation into nested dicts, and index-keyed dicts into lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [key]
        node = root
        for i, part in enumerate(parts):
            if part == "":  # ``a[]=x``: append
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise ParamError(f"Missing required param: {name}.", code="parameter_missing", param=name)
    return value


def to_int(value: Any, name: str) -> int:
    text = str(value)
    if not re.fullmatch(r"-?\d+", text):
        raise ParamError(f"Invalid integer: {text}", code="parameter_invalid_integer", param=name)
    return int(text)


def positive_int(value: Any, name: str) -> int:
    number = to_int(value, name)
    if number < 1:
        raise ParamError(
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=name,
        )
    return number


def to_bool(value: Any, name: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise ParamError(f"Invalid boolean: {value}", param=name)


def one_of(value: Any, name: str, choices: tuple[str, ...], default: str | None = None) -> Any:
    if value is None or value == "":
        return default
    if value not in choices:
        listed = ", ".join(f"`{c}`" for c in choices)
        raise ParamError(f"Invalid {name}: must be one of {listed}", param=name)
    return value


def metadata(value: Any) -> dict[str, str]:
    """Stripe's limits: 50 keys, 40-character keys, 500-character values."""
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ParamError("Invalid object", param="metadata")
    if len(value) > 50:
        raise ParamError("Metadata can have a maximum of 50 keys.", param="metadata")
    for key, item in value.items():
        if len(key) > 40:
            raise ParamError(
                f"Metadata key too long: {key}. Keys must be at most 40 characters.",
                param=f"metadata[{key}]",
            )
        if not isinstance(item, str):
            raise ParamError("Invalid string", param=f"metadata[{key}]")
        if len(item) > 500:
            raise ParamError(
                "Metadata values can have up to 500 characters, but you passed in a value "
                f"that is {len(item)} characters.",
                param=f"metadata[{key}]",
            )
    # An empty value unsets a key.
    return {k: v for k, v in value.items() if v != ""}


def expand_list(params: dict[str, Any]) -> list[str]:
    value = params.get("expand")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ParamError("Invalid array", param="expand")


def string_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ParamError("Invalid array", param=name)
