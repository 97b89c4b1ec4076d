"""Reader kinds: one per way of reading a stream (an entity listing, event windows, a
document, visitor history). Each kind owns its scope, its units, how a unit is read, its
checkpoint and its line in the plan; `base.py` writes the contracts down.

Imports: pendo/, datasync/, streams, transform, timefmt, errors; never run/ or singer/.
"""

from .base import Checkpoint, PlanEntry, ReadContext, ReaderKind, Unit
from .datasync import DATASYNC
from .document import DOCUMENT
from .history import HISTORY
from .listing import LISTING
from .windows import WINDOWS

# Every kind, by the name a stream definition gives (`StreamDef.reader`).
KINDS = {kind.name: kind for kind in (LISTING, WINDOWS, DOCUMENT, HISTORY, DATASYNC)}


def kind_of(stream) -> ReaderKind:
    """The kind that reads `stream` (a StreamDef)."""
    return KINDS[stream.reader]


__all__ = ["KINDS", "Checkpoint", "PlanEntry", "ReadContext", "ReaderKind", "Unit", "kind_of"]
