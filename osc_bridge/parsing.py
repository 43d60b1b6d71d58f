"""Check an incoming OSC message against the address table and turn it into typed arguments."""

from __future__ import annotations

from typing import Any

from osc_bridge.addresses import REQUESTS, Request


class BadMessage(Exception):
    """A message the bridge cannot act on; `request_id` is echoed in the error reply (-1 if unknown)."""

    def __init__(self, request_id: int, message: str):
        super().__init__(message)
        self.request_id = request_id


def _coerce(value: Any, kind: type, name: str, request_id: int) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)  # Max sends floats from number boxes set to float by mistake; 3.0 means 3
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadMessage(request_id, f"{name} must be {kind.__name__}, got {type(value).__name__} {value!r}")
    if kind is float and value != value:  # NaN
        raise BadMessage(request_id, f"{name} must be a number, got NaN")
    return value


def parse(address: str, args: list[Any]) -> tuple[Request, int, dict[str, Any]]:
    """Validate `args` for `address`; return the request, its id and the named arguments."""
    request_id = args[0] if args and isinstance(args[0], int) and not isinstance(args[0], bool) else -1
    request = REQUESTS.get(address)
    if request is None:
        raise BadMessage(request_id, f"unknown address {address}; known: {', '.join(sorted(REQUESTS))}")
    if request_id == -1:
        raise BadMessage(-1, f"{address}: the first argument must be an int request id")
    fixed = [p for p in request.params if not p.variadic]
    variadic = next((p for p in request.params if p.variadic), None)
    usage = " ".join(p.name + (" ..." if p.variadic else "") for p in request.params)
    if len(args) < len(fixed) + (1 if variadic else 0) or (variadic is None and len(args) != len(fixed)):
        raise BadMessage(request_id, f"{address} expects: {usage} (got {len(args)} arguments)")
    values: dict[str, Any] = {}
    for param, value in zip(fixed[1:], args[1:], strict=False):  # the id is returned on its own
        values[param.name] = _coerce(value, param.kind, param.name, request_id)
    if variadic is not None:
        values[variadic.name] = [
            _coerce(v, variadic.kind, variadic.name, request_id) for v in args[len(fixed) :]
        ]
    return request, request_id, values
