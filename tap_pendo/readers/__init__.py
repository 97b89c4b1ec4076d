"""Reader kinds: one per way of reading a stream (an entity listing, event windows, a
document, visitor history). Each kind owns its scope, its units, how a unit is read, its
checkpoint and its line in the plan; `base.py` writes the contracts down.

Imports: pendo/, datasync/, streams, transform, timefmt, errors; never run/ or singer/.
"""
