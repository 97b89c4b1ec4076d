"""Running a sync: the plan (units of work before any request), the executor and its work
queue, the resequencer that writes each stream in order, checkpoints and progress. They look
the reader kind up on a unit and never switch on types.

Imports: readers/ (their contracts), transform, timefmt, errors; never singer/: the output
is handed in.
"""
