#!/usr/bin/env bash
# Runs schemathesis against a live `eventfold serve` on a fresh data directory: every operation
# of the generated OpenAPI document, with every check, SSE routes included (their first answer
# and headers; the stream itself is cut by the request time-out).
# Usage: tests/api/schemathesis.sh PATH/TO/eventfold
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
venv="${EVENTFOLD_SCHEMATHESIS_VENV:-$HOME/.cache/eventfold-schemathesis-venv}"
if [[ ! -x "$venv/bin/schemathesis" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
data="$(mktemp -d)"
log="$data.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --data "$data" serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" "$log"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
cd "$data"
# Two runs: the request/response operations, whose long polls take up to 20 s, and the SSE
# operations, which never end by themselves: their events are read until the time-out.
run() {
  SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here" "$venv/bin/schemathesis" \
    --config-file "$here/schemathesis.toml" run \
    "http://127.0.0.1:$port/openapi.json" \
    --generation-deterministic \
    --no-color \
    "$@"
}
status=0
run --exclude-path-regex 'subscribe' --request-timeout 25 \
  --max-examples "${EVENTFOLD_SCHEMATHESIS_EXAMPLES:-30}" || status=$?
run --include-path-regex 'subscribe' --request-timeout 2 \
  --max-examples "${EVENTFOLD_SCHEMATHESIS_SSE_EXAMPLES:-10}" || status=$?
if ! kill -0 $server 2>/dev/null; then
  echo "the server stopped during the run:" >&2
  cat "$log" >&2
  exit 1
fi
exit $status
