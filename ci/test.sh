#!/usr/bin/env bash
# The test command (README): installs what the tests need when it is missing, then runs every test of the
# workspace, the slow end-to-end suites included (TGLOAD_COMPAT: real bot frameworks; TGLOAD_E2E: whole runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test: installing cargo-nextest" >&2
    cargo install cargo-nextest --locked
fi
# The HTML report's browser test opens report.html in headless Chromium (Debian's `chromium`): installed here when
# missing and apt is at hand; if it cannot be, that test says it is skipped and the rest runs.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing chromium" >&2
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo -n); fi
    { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        || { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; } >&2 \
        || echo "test: chromium could not be installed; the report.html browser test will be skipped" >&2
fi
# The JUnit schema test validates with xmllint; without it that check is skipped (and says so).
if ! command -v xmllint >/dev/null 2>&1; then
    echo "test: installing xmllint (libxml2-utils)" >&2
    { apt-get update -qq && apt-get install -y -qq libxml2-utils >/dev/null; } ||
        echo "test: could not install xmllint; the JUnit schema check will be skipped" >&2
fi
if [[ -f ci/setup-compat.sh ]]; then
    bash ci/setup-compat.sh
fi
# The end-to-end tests run the release build: its accuracy is what the README and the benchmarks claim. The tests
# themselves build with the dev profile: with the release profile they took 18.5 min to build here, not 7.
cargo build --release -p harness -p bot-under-test -p mock-telegram
export TGLOAD_BIN="$root/target/release/tgload"
export TGLOAD_COMPAT=1 TGLOAD_E2E=1
cargo nextest run --workspace --no-fail-fast "$@"
