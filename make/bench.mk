# Issue 7: `make bench` measures the installed tap-pendo against the fake Pendo
# (scale 60: over 1,000,000 featureEvents rows) beside the minimal "limit"
# pipeline, then (issue 12) a full sync of the six event streams against a fake
# that answers after 300 ms, with max_concurrent_requests 1 and 4, then
# datasync_events from a fake Data Sync export of 1,000,000 rows beside the Data
# Sync probe; it prints the table and writes bench/results.json and
# bench/results.md (a run with --only keeps the other cases' results there).
# `make bench-profile` says where the CPU of feature_events goes, per step
# (BENCH_PROFILE_STREAM=datasync_events: of the Data Sync case's file).
# Scratch files (configs, catalogs, stderr and output of each run) go to .bench/.
# The bench is a package: bench/README.md says which module does what.

BENCH_ARGS ?=
BENCH_PROFILE_STREAM ?= feature_events

.PHONY: bench bench-profile

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-profile: $(STAMP)
	$(BIN)/python -m bench.run --profile $(BENCH_PROFILE_STREAM) $(BENCH_ARGS)
