"""Command barcodes: a printed `CMD:<NAME>` scanned on a task is the tap of the button it names, so a
gloved operator never has to touch the screen. One table: what each command is called, what it says
on the card, and which tap it stands for on which kind of task.

The scan parser reads the code (scanners.parse: kind "command"); the engine turns it into the tap
(services.engine) before anything else, so it is answered, confirmed, logged and replayed exactly as
the button would be; Leave ends on the tasks list, the task left open at its step.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.tasks import DAMAGE_REASONS
from ..i18n import N_


@dataclass(frozen=True)
class Command:
    name: str  # what the barcode says after CMD:
    title: str  # the card's big text
    what: str  # the card's small text: where it works
    action: str  # the tap it stands for
    value: str = ""


COMMANDS: tuple[Command, ...] = (
    Command("CONFIRM", N_("Confirm"), N_("Book the scan that was warned about"), "confirm"),
    Command("BACK", N_("Back"), N_("Don't book it · Not this one · another bin"), "cancel"),
    Command("CLOSE", N_("Close"), N_("Close receipt · Finish putaway · Bin counted"), "close"),
    Command("DONE", N_("Done"), N_("Finish a count · close any other task"), "close"),
    Command("SHORT", N_("Short"), N_("Short: not all here (picking)"), "short"),
    Command("SHIP", N_("Ship"), N_("Ship the order or transfer at the dock"), "ship"),
    Command("DAMAGED", N_("Damaged on/off"), N_("Receiving: units go to quarantine"), "damaged"),
    Command("NO-PLATE", N_("No pallet"), N_("Receiving: units are received loose"), "no-plate"),
    Command("LEAVE", N_("Leave"), N_("The task stays open at its step for anyone"), "leave"),
    *(Command(f"REASON:{key.upper()}", label, N_("Damage reason"), "reason", key)
      for key, label in DAMAGE_REASONS.items()),
)
BY_NAME = {c.name: c for c in COMMANDS}
# Where one command is another tap: a count's Done is its Finish (its Close is "Bin counted").
BY_KIND = {("count", "DONE"): "finish"}


def code(command: Command) -> str:
    return f"CMD:{command.name}"


def tap(name: str, kind: str) -> tuple[str, str] | None:
    """The tap (action, value) a command barcode stands for on a task of this kind, or None when the
    code is no command the app prints."""
    command = BY_NAME.get(name.upper())
    if command is None:
        return None
    return BY_KIND.get((kind, command.name), command.action), command.value
