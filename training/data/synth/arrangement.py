"""The form of a piece: whole-second sections and the musical events at their boundaries.

A `State` says who plays and how (soloist, dynamics level, lead register, drum pattern and kit, bass mode,
and optionally a second horn or the vibes playing backgrounds behind the soloist). At each boundary 1-3
events change it: an instrument enters or exits, the solo passes on, dynamics rise or fall, the lead jumps
register, the drums change pattern or kit, the bass switches walking <-> pedal. Backgrounds only happen when
`plan` is given a `backing` weight above 0; at 0 a seed composes exactly the pieces it did before they existed.
The events list is the ground truth a latent action model is judged against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from training.data.annotations import INSTRUMENTS

LEADS = ("sax", "trumpet", "vibes", "guitar")
BACKERS = ("sax", "trumpet", "vibes")  # who can play backgrounds (guide tones or soli) behind a soloist
LEVELS = (0.3, 0.55, 0.8, 1.0)  # note velocity per dynamics level (pp .. f); loudness goes as velocity**1.5
REGISTERS = (-12, 0, 12)  # lead register offsets in semitones


@dataclass(frozen=True)
class State:
    active: frozenset[str]  # instruments playing
    lead: str | None  # the soloist (one of LEADS, inside `active`), or None
    level: int  # index into LEVELS
    register: int  # the soloist's register offset, one of REGISTERS
    pattern: str  # drum pattern: swing, double_time, stop_time
    kit: str  # sticks or brushes
    bass_mode: str  # walking or pedal
    backing: str | None = None  # a second horn or the vibes on backgrounds (one of BACKERS, in `active`)

    def role(self, instrument: str) -> str | None:
        """What the instrument does: lead, backing, comp, bass, drums, or None when silent."""
        if instrument not in self.active:
            return None
        if instrument == self.lead:
            return "lead"
        if instrument == self.backing:
            return "backing"
        return {"piano": "comp", "guitar": "comp", "bass": "bass", "drums": "drums"}.get(instrument)


@dataclass(frozen=True)
class Section:
    start: int  # seconds
    end: int  # seconds
    state: State


def initial_state(rng: np.random.Generator, tempo: float) -> State:
    if rng.random() < 0.1:  # a solo piano intro before the band comes in
        active = {"piano"}
    else:
        active = {"drums", "bass"} | ({"piano"} if rng.random() < 0.7 else {"guitar"})
        if rng.random() < 0.25:
            active |= {"piano", "guitar"}
    lead = None
    if rng.random() < 0.75:
        lead = str(rng.choice([x for x in LEADS if x not in active]))
        active.add(lead)
    kit = "brushes" if rng.random() < (0.5 if tempo < 140 else 0.15) else "sticks"
    return State(
        active=frozenset(active),
        lead=lead,
        level=int(rng.integers(1, 3)),
        register=0,
        pattern="swing",
        kit=kit,
        bass_mode="walking" if rng.random() < 0.85 else "pedal",
    )


def _candidates(s: State, rng: np.random.Generator, backing: float = 0.0) -> list[tuple[float, dict, State]]:
    """(weight, event, new state) for every event possible from state `s`; `backing` weighs a second horn
    (or the vibes) coming in on backgrounds behind the soloist (0: never)."""
    out: list[tuple[float, dict, State]] = []

    def event(kind: str, instrument: str | None, detail: str | None = None) -> dict:
        return {"type": kind, "instrument": instrument, "detail": detail}

    for name in INSTRUMENTS:
        if name in s.active:
            if len(s.active) > 1 and not (name == "drums" and s.pattern == "stop_time"):
                lead = None if name == s.lead else s.lead
                behind = None if name == s.backing else s.backing
                gone = replace(s, active=s.active - {name}, lead=lead, backing=behind)
                out.append((0.8, event("exit", name), gone))
        elif name in LEADS and name != "guitar":
            if s.lead is None:
                out.append(
                    (1.2, event("enter", name), replace(s, active=s.active | {name}, lead=name, register=0))
                )
            elif backing > 0 and s.backing is None and name in BACKERS:
                behind = replace(s, active=s.active | {name}, backing=name)
                out.append((backing, event("enter", name, "backing"), behind))
        else:
            lead = "guitar" if name == "guitar" and s.lead is None and rng.random() < 0.4 else s.lead
            out.append((1.0, event("enter", name), replace(s, active=s.active | {name}, lead=lead)))
    if s.lead is not None:
        for name in LEADS:
            if name not in (s.lead, s.backing):
                active = (s.active - {s.lead}) | {name}
                change = event("solo_change", name)
                out.append((0.4, change, replace(s, active=active, lead=name, register=0)))
        for reg in REGISTERS:
            if reg != s.register:
                out.append((0.6, event("register_jump", s.lead, f"{reg:+d}"), replace(s, register=reg)))
    if s.level < len(LEVELS) - 1:
        step = min(2, len(LEVELS) - 1 - s.level)
        out.append((0.8, event("dynamics_up", None), replace(s, level=s.level + step)))
    if s.level > 0:
        step = min(2, s.level)
        out.append((0.8, event("dynamics_down", None), replace(s, level=s.level - step)))
    if "drums" in s.active:
        other_kit = "brushes" if s.kit == "sticks" else "sticks"
        out.append((0.5, event("drum_pattern", "drums", other_kit), replace(s, kit=other_kit)))
        for pattern in ("swing", "double_time", "stop_time"):
            if pattern != s.pattern:
                out.append((0.5, event("drum_pattern", "drums", pattern), replace(s, pattern=pattern)))
    if "bass" in s.active:
        mode = "pedal" if s.bass_mode == "walking" else "walking"
        out.append((0.6, event("bass_mode", "bass", mode), replace(s, bass_mode=mode)))
    return out


def _step(s: State, rng: np.random.Generator, backing: float = 0.0) -> tuple[list[dict], State]:
    """Apply 1-3 events (distinct types, distinct instruments) to `s`."""
    wanted = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    events: list[dict] = []
    if s.pattern == "stop_time":  # stop-time is a break: the groove comes back at the next boundary
        events.append({"type": "drum_pattern", "instrument": "drums", "detail": "swing"})
        s = replace(s, pattern="swing")
    touched: set[str | None] = {"drums"} if events else set()
    while len(events) < wanted:
        options = [
            (w, e, n)
            for w, e, n in _candidates(s, rng, backing)
            if e["type"] not in {x["type"] for x in events} and not _touches(e, s) & touched
        ]
        if not options:
            break
        weights = np.array([w for w, _, _ in options])
        _, chosen, new = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        touched |= _touches(chosen, s)
        events.append(chosen)
        s = new
    return events, s


def _touches(event: dict, s: State) -> set[str | None]:
    """Instruments an event changes, so one boundary never changes an instrument twice."""
    out = {event["instrument"]} - {None}
    if event["type"] in ("solo_change", "register_jump"):
        out.add(s.lead)
    return out


def plan(
    rng: np.random.Generator,
    duration: int,
    tempo: float,
    shortest: int = 2,
    longest: int = 5,
    backing: float = 0.0,
) -> tuple[list[Section], list[dict]]:
    """Sections covering [0, duration) seconds and the events at their boundaries (each with its time);
    `backing` is the weight of a background part coming in behind the soloist (see `_candidates`)."""
    bounds = [0]  # every section lasts shortest..longest s; a piece long enough for two gets at least two
    while duration - bounds[-1] >= 2 * shortest and (duration - bounds[-1] > longest or len(bounds) == 1):
        room = duration - bounds[-1] - shortest
        bounds.append(bounds[-1] + int(rng.integers(shortest, min(longest, room) + 1)))
    bounds.append(duration)
    state = initial_state(rng, tempo)
    sections, events = [], []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        if start > 0:
            changes, state = _step(state, rng, backing)
            events += [{"time": float(start), **e} for e in changes]
        sections.append(Section(start, end, state))
    return sections, events


def activity(sections: list[Section], duration: int) -> np.ndarray:
    """Per-second multi-hot activity (seconds, I) in INSTRUMENTS order."""
    out = np.zeros((duration, len(INSTRUMENTS)), dtype=np.uint8)
    for sec in sections:
        for i, name in enumerate(INSTRUMENTS):
            out[sec.start : sec.end, i] = name in sec.state.active
    return out
