#!/usr/bin/env bash
# Runs the Python client's tests against an Eventfold server binary, from any directory:
#
#   clients/python/ci.sh target/release/eventfold [PYTEST_ARGS...]
#
# The first time, it makes a venv at ${EVENTFOLD_PY_VENV:-$HOME/.cache/eventfold-py-venv}
# (with python3.11, or $PYTHON) and installs the client (editable) and requirements-dev.txt
# into it; later runs reinstall only when pyproject.toml, requirements-dev.txt or the
# client's location changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 ]]; then
  echo "usage: $0 EVENTFOLD_BIN [PYTEST_ARGS...]" >&2
  exit 2
fi
bin="$1"
shift
# A path is made absolute (the tests run from $here); a bare name is looked up on PATH.
if [[ "$bin" == */* ]]; then
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
fi

venv="${EVENTFOLD_PY_VENV:-$HOME/.cache/eventfold-py-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "the client needs Python 3.11 or later; $python is $("$python" --version)" >&2
    exit 1
  }
  "$python" -m venv "$venv"
fi

stamp="$venv/.eventfold-client-installed"
want="$(cat "$here/pyproject.toml" "$here/requirements-dev.txt" | sha256sum | cut -d' ' -f1) $here"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$here" -r "$here/requirements-dev.txt"
  echo "$want" > "$stamp"
fi

cd "$here"
export EVENTFOLD_BIN="$bin"
exec "$venv/bin/python" -m pytest "$@"
