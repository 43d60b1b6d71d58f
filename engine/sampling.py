"""The one flow-matching sampler, shared by training (torch tensors) and the engine (numpy arrays).

Convention (docs/interfaces.md): `x_t = (1 - t) * x0 + t * noise`, t=1 is pure noise, networks predict the
velocity `v = noise - x0`, and sampling integrates dx/dt = v from t=1 down to t=0. The steps below use only
`+` and `*` on the state, so the same function runs on numpy arrays and torch tensors; it never imports
torch (the engine must not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

X = TypeVar("X")

METHODS = ("euler", "heun")


def timesteps(steps: int, shift: float = 1.0) -> list[float]:
    """The `steps + 1` noise levels visited from 1.0 (noise) down to 0.0 (data): evenly spaced, then warped
    by SD3's time shift t -> s t / (1 + (s - 1) t) (https://arxiv.org/abs/2403.03206); s < 1 spends more of
    the steps at low noise, s = 1 keeps them even."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0.0 < shift < float("inf"):
        raise ValueError(f"shift must be a positive number, got {shift}")
    even = [1.0 - i / steps for i in range(steps + 1)]
    return [shift * t / (1.0 + (shift - 1.0) * t) for t in even]


def velocity_calls(steps: int, method: str) -> int:
    """How many times `sample` calls the velocity function (Heun skips its correction on the last step)."""
    return 2 * steps - 1 if method == "heun" else steps


def sample(
    velocity_fn: Callable[[Any, float], Any],
    noise: X,
    steps: int,
    method: str = "euler",
    project: Callable[[Any, float], Any] | None = None,
    callback: Callable[[int, int], None] | None = None,
    shift: float = 1.0,
    start: float = 1.0,
) -> X:
    """Integrate the velocity field from `noise` at t=`start` (1: pure noise) to data at t=0.

    Args:
        velocity_fn: `velocity_fn(x, t) -> v` with x shaped like `noise` and t a Python float; the caller
            broadcasts t to whatever its network wants (e.g. a (B,) array).
        noise: the starting state at t=`start` (numpy array or torch tensor): pure noise for start = 1, or
            `(1 - start) * x0 + start * noise` to re-imagine a known x0 part-way (SDEdit,
            https://arxiv.org/abs/2108.01073).
        steps: number of intervals; Heun costs two velocity calls per interval except the last.
        method: "euler" (first order) or "heun" (second order, no correction on the step that reaches t=0).
        project: `project(x, t) -> x` called after every step with the new level t, so a caller can
            re-impose known content (inpainting: the context noised to level t).
        callback: `callback(step, steps)` after every step (progress reporting).
        shift: the time shift of the levels (`timesteps`); below 1 the steps crowd towards t=0.
        start: the noise level of `noise`, in (0, 1]; the `steps` levels span [0, start].
    Returns:
        The state at t=0, same type and shape as `noise`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {METHODS}")
    if not 0.0 < start <= 1.0:
        raise ValueError(f"start must be in (0, 1], got {start}")
    levels = [start * t for t in timesteps(steps, shift)]
    x = noise
    for i, (t, t_next) in enumerate(zip(levels[:-1], levels[1:], strict=True)):
        dt = t_next - t
        v = velocity_fn(x, t)
        if method == "heun" and t_next > 0.0:
            x_euler = x + dt * v
            v_next = velocity_fn(x_euler, t_next)
            x = x + (0.5 * dt) * (v + v_next)
        else:
            x = x + dt * v
        if project is not None:
            x = project(x, t_next)
        if callback is not None:
            callback(i + 1, steps)
    return x
