"""The Singer side: discovery (the catalog), the sync (selection, SCHEMA, then the plan run by
the executor), the state file, and the output of messages on stdout.

Imports: run/, readers/, pendo/, transform, streams, config, errors.
"""
