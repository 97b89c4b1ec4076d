"""The tap with real downstream programs: singer-check-tap, target-jsonl,
MeltanoLabs' target-postgres on a throwaway PostgreSQL, and Meltano.

Each program lives in a virtualenv of its own under .venvs/ (`make ecosystem-deps`).
"""
