#!/usr/bin/env bash
# Replays one fuzz target's kept corpus (a directory under testdata/fuzz/) through the target. Used by
# <name>_corpus_test.
set -euo pipefail
exec "$1" "$2"
