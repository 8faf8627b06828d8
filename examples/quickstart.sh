#!/usr/bin/env bash
# The quick start (`make run`): two small local origins on 127.0.0.1:8001 and :8002, and
# turnout on examples/quickstart.route in front of them on 127.0.0.1:6188. Ctrl-C stops all.
# Usage: examples/quickstart.sh [TURNOUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
turnout=${1:-$here/../build/release/runtime/turnout}

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
for port in 8001 8002; do
  python3 "$here/origin.py" "$port" & pids+=($!)
done

cat <<'TEXT'
turnout quick start: two origins on 127.0.0.1:8001 and :8002, turnout on 127.0.0.1:6188.
Try, from another terminal:
    curl -i http://127.0.0.1:6188/          # answered by the origins in turn, x-served-by: turnout
    curl -i http://127.0.0.1:6188/healthz   # answered by the policy itself
Ctrl-C stops everything.
TEXT
"$turnout" run "$here/quickstart.route" & pids+=($!)
wait "${pids[-1]}"
