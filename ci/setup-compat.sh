#!/usr/bin/env bash
# Installs the Python and Node bot frameworks that mock-telegram's compatibility suite runs
# (mock-telegram/tests/it/compat.rs, enabled with TGLOAD_COMPAT=1): a venv at the repo root from the pinned
# requirements.txt, and node_modules from the committed package-lock.json with `npm ci`.
# Idempotent and quick when nothing changed: each step is skipped while its stamp matches its inputs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compat="$root/mock-telegram/tests/compat"
venv="$root/.venv"
requirements="$compat/python/requirements.txt"
node_dir="$compat/node"

say() { echo "setup-compat: $*" >&2; }

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

setup_python() {
    local stamp="$venv/.tgload-requirements.sha256"
    local want
    want="$(hash_of "$requirements")"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "python: $venv is up to date"
        return
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        say "python: creating $venv"
        python3 -m venv "$venv"
    fi
    say "python: installing $requirements"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" >"$stamp"
}

setup_node() {
    local stamp="$node_dir/node_modules/.tgload-lock.sha256"
    local want
    want="$(hash_of "$node_dir/package.json" "$node_dir/package-lock.json")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "node: $node_dir/node_modules is up to date"
        return
    fi
    say "node: npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund >&2)
    echo "$want" >"$stamp"
}

setup_python
setup_node
say "done"
