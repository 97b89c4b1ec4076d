# Issue 7: `make bench` measures the installed tap-pendo against the fake Pendo
# (scale 60: over 1,000,000 featureEvents rows) beside the minimal "limit"
# pipeline, prints the table and writes bench/results.json and bench/results.md.
# `make bench-profile` says where the CPU of feature_events goes, per step.
# Scratch files (configs, catalogs, stderr of each run) go to .bench/.

BENCH_ARGS ?=
BENCH_PROFILE_STREAM ?= feature_events

.PHONY: bench bench-profile

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-profile: $(STAMP)
	$(BIN)/python -m bench.run --profile $(BENCH_PROFILE_STREAM) $(BENCH_ARGS)
