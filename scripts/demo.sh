#!/usr/bin/env bash
# The demo: what the built programs can show on this machine, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CHORUS_BUILD_DIR:-build}
"$build/chorus" --version
"$build/chorusd" --version
"$build/chorus" --help
"$build/chorusd" --help
