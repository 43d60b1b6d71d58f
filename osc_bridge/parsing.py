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


def _fits(value: Any, kind: type) -> bool:
    """Whether `value` can be read as `kind` (an integral float counts as an int, an int as a float)."""
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def parse(address: str, args: list[Any]) -> tuple[Request, int, dict[str, Any]]:
    """Validate `args` for `address`; return the request, its id and the named arguments.

    Fixed parameters come first; then each variadic parameter takes the run of values of its kind that
    follows (at least one unless it is optional), so `/musegenie/edit id path 2 4 1 3 sax bass` reads
    actions [1, 3] and instruments ["sax", "bass"].
    """
    request_id = args[0] if args and isinstance(args[0], int) and not isinstance(args[0], bool) else -1
    request = REQUESTS.get(address)
    if request is None:
        raise BadMessage(request_id, f"unknown address {address}; known: {', '.join(sorted(REQUESTS))}")
    if request_id == -1:
        raise BadMessage(-1, f"{address}: the first argument must be an int request id")
    fixed = [p for p in request.params if not p.variadic]
    usage = " ".join(
        p.name + (" ..." if p.variadic else "") if not p.optional else f"[{p.name} ...]"
        for p in request.params
    )
    if len(args) < len(fixed):
        raise BadMessage(request_id, f"{address} expects: {usage} (got {len(args)} arguments)")
    values: dict[str, Any] = {}
    for param, value in zip(fixed[1:], args[1:], strict=False):  # the id is returned on its own
        values[param.name] = _coerce(value, param.kind, param.name, request_id)
    rest = args[len(fixed) :]
    for param in (p for p in request.params if p.variadic):
        run = 0
        while run < len(rest) and _fits(rest[run], param.kind):
            run += 1
        if run == 0 and not param.optional:
            if rest:  # say what is wrong with the value that stands where the run should start
                _coerce(rest[0], param.kind, param.name, request_id)
            raise BadMessage(request_id, f"{address} expects: {usage} (no {param.name} given)")
        values[param.name] = [_coerce(v, param.kind, param.name, request_id) for v in rest[:run]]
        rest = rest[run:]
    if rest:
        raise BadMessage(
            request_id, f"{address} expects: {usage} (unexpected {type(rest[0]).__name__} {rest[0]!r})"
        )
    return request, request_id, values
