#!/usr/bin/env bash
# Run the official-SDK compatibility tests against the acs-emulator binary (CI entry point).
#   VENV             virtualenv to create/reuse (default: target/sdk-venv)
#   ACS_EMULATOR_BIN emulator binary to test; when unset it is built with cargo
#   PYTHON           interpreter used to create the venv (default: python3)
# Extra arguments are passed to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cd "$repo"

venv="${VENV:-target/sdk-venv}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$stamp"
fi

if [[ -z "${ACS_EMULATOR_BIN:-}" ]]; then
    cargo build --quiet -p acs-emulator --bin acs-emulator
    export ACS_EMULATOR_BIN="$repo/target/debug/acs-emulator"
fi

exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@"
