"""The OSC address space: every request the bridge accepts and every reply it sends, in one table.

Every request starts with a client-chosen int id and every reply echoes it, so a Max patch can keep several
jobs in flight and route answers with `route`. Audio travels as file paths (Max's `buffer~ write/read`).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "/musegenie"


@dataclass(frozen=True)
class Param:
    name: str
    kind: type  # int, float or str; an int is accepted where a float is asked for
    variadic: bool = False  # a run of values of this kind (one or more unless optional) near the end
    optional: bool = False  # a variadic run that may be empty


@dataclass(frozen=True)
class Request:
    address: str
    params: tuple[Param, ...]
    doc: str


ID = Param("id", int)
IN_PATH = Param("in_path", str)
START = Param("start_s", float)
END = Param("end_s", float)
# Who should play in the region: instrument names (strings) after the actions; none = whoever plays now.
INSTRUMENTS = Param("instrument", str, variadic=True, optional=True)

REQUESTS: dict[str, Request] = {
    r.address: r
    for r in (
        Request(
            f"{PREFIX}/auth",
            (ID, Param("token", str)),
            "prove this sender holds the bridge's client token (once per sender, needed only when the "
            "bridge has one) -> done",
        ),
        Request(f"{PREFIX}/ping", (ID,), "is the bridge (and the engine) alive? -> pong"),
        Request(f"{PREFIX}/actions", (ID,), "list the model's actions -> action ... then done"),
        Request(
            f"{PREFIX}/instruments",
            (ID,),
            "list the instruments an edit may ask for -> instrument ... then done (none: not conditioned)",
        ),
        Request(
            f"{PREFIX}/edit",
            (ID, IN_PATH, START, END, Param("action", int, variadic=True), INSTRUMENTS),
            "re-imagine [start_s, end_s) of in_path with the actions (ints, spread across the region), "
            "optionally played by the named instruments (strings after the actions) -> progress ... done",
        ),
        Request(
            f"{PREFIX}/prepare",
            (ID, IN_PATH),
            "index the song in in_path now, so its first edit is as quick as later ones (send it when a file "
            "is chosen, while the user picks an action) -> progress ... done",
        ),
        Request(
            f"{PREFIX}/closeness",
            (ID, Param("closeness", float)),
            "how close to the song later edits and explores stay, 0..1 (0 generates freely, 1 always uses "
            "the song's own passages with the asked-for actions; the bundle's default until set) -> done",
        ),
        Request(
            f"{PREFIX}/seed",
            (ID, Param("seed", int)),
            "which take later edits and explores get, an int >= 0 (0 until set): the same take of the same "
            "request gives the same result, another take another result -> done",
        ),
        Request(
            f"{PREFIX}/infer", (ID, IN_PATH, START, END), "which actions does the region carry -> inferred"
        ),
        Request(
            f"{PREFIX}/explore",
            (ID, IN_PATH, START, END, INSTRUMENTS),
            "render the region once per action, optionally played by the named instruments -> variant ... done",
        ),
    )
}

# Reply address -> its arguments after the id.
REPLIES: dict[str, str] = {
    f"{PREFIX}/pong": "engine_status (SERVING when an edit could pass, token included; else the reason)",
    f"{PREFIX}/action": "index name description",
    f"{PREFIX}/instrument": "index name",
    f"{PREFIX}/progress": "fraction in [0, 1]",
    f"{PREFIX}/inferred": "action [action ...] (one per chunk of the region)",
    f"{PREFIX}/variant": "action out_path source (where its material came from, e.g. 'song 0:42.0-0:46.0', "
    "and how the engine hears it: '; asked action heard in 3 of 4 chunks')",
    f"{PREFIX}/done": "[out_path source] (edit: the result file and where its material came from, "
    "'song 0:42.0-0:46.0' or 'generated (why)', then how the engine hears it against the request, e.g. "
    "'; asked action heard in 3 of 4 chunks; still heard: sax'; actions/explore/closeness/seed/prepare: nothing)",
    f"{PREFIX}/error": "CODE message (a gRPC status name; INVALID_ARGUMENT for a bad message, with id -1 "
    "when the id is unreadable; RESOURCE_EXHAUSTED when the bridge's queue is full; UNAUTHENTICATED "
    "until the sender sent /musegenie/auth, when the bridge has a client token)",
}

AUTH, PING, ACTIONS, INSTRUMENTS_LIST, EDIT, INFER, EXPLORE, CLOSENESS, SEED, PREPARE = (
    f"{PREFIX}/{n}"
    for n in [
        "auth",
        "ping",
        "actions",
        "instruments",
        "edit",
        "infer",
        "explore",
        "closeness",
        "seed",
        "prepare",
    ]
)
PONG, ACTION, INSTRUMENT, PROGRESS, INFERRED, VARIANT, DONE, ERROR = (
    f"{PREFIX}/{n}"
    for n in ("pong", "action", "instrument", "progress", "inferred", "variant", "done", "error")
)
