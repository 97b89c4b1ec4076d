"""`make bench`: the installed tap-pendo against the fake Pendo, beside a minimal "limit"
pipeline on the same responses (issue 7). See bench/README.md."""
