"""The registry of floor task kinds: one line a kind. Each kind lives in its own module
(see services.tasks.TaskKind for what a kind declares); adding one is a module, its
templates (tasks/partials/<name>.html, tasks/start-<name>.html) and a line here."""

from __future__ import annotations

from . import (
    counting,
    damage,
    moving,
    packing,
    picking,
    putaway,
    receiving,
    replenishing,
    returns,
    shipping,
    transfers,
)
from .tasks import TaskKind

KINDS: dict[str, TaskKind] = {k.name: k for k in (
    receiving.RECEIVE,
    putaway.PUTAWAY,
    moving.MOVE,
    picking.PICK,
    replenishing.REPLENISH,
    packing.PACK,
    shipping.SHIP,
    returns.RETURN,
    returns.INSPECT,
    damage.DAMAGE,
    counting.COUNT,
    transfers.TRANSFER_OUT,
    transfers.TRANSFER_IN,
)}
OWN_TASKS = tuple(name for name, k in KINDS.items() if k.own)
