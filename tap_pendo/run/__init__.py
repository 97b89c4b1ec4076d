"""Running a sync: the plan (units of work before any request), the executor and its work
queue, the resequencer that writes each stream in order, checkpoints and progress. They look
the reader kind up on a unit and never switch on types.

Imports: readers/ (their contracts and items), pendo.paging's PageEnd (an item too),
transform, config, timefmt; singer-python's metrics for METRIC lines; never tap_pendo's
singer/: the output is handed in.
"""
