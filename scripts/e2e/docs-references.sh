#!/usr/bin/env bash
# Docs that match the code (issue 9): every Java class, repo path, page and RPC method that README.md and
# docs/*.md name must exist (scripts/doc-refs.py says what is checked and which external names are allowed).
# The RPC method list is the running daemon's own `rpc_methods`, cross-checked with the registrations in
# daemon/src/main, so a method documented but never registered fails, and so does one registered but undocumented.
set -euo pipefail
E2E_NAME=docs-references
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# A daemon with nothing in it: an empty config is enough for rpc_methods.
echo '[]' > "$WORK/empty.json"
"$B" serve --config "$WORK/empty.json" --data-dir "$WORK/data" --reactors 1 --idle wait > "$WORK/serve.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 120); do
  [ -S "$WORK/data/basalt.sock" ] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up"
  sleep 0.5
done
[ -S "$WORK/data/basalt.sock" ] || fail "no socket after 60 s"
"$B" rpc --data-dir "$WORK/data" rpc_methods | grep -o '"[a-z0-9_]*"' | tr -d '"' > "$WORK/methods.txt" \
  || fail "rpc_methods did not answer"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=""
[ -s "$WORK/methods.txt" ] || fail "rpc_methods returned no names"

if python3 "$ROOT/scripts/doc-refs.py" --methods "$WORK/methods.txt" "$ROOT"; then
  echo "docs-references: ok: classes, paths, pages and $(wc -l < "$WORK/methods.txt") RPC methods in README.md and docs/ match the code"
else
  fail "the references above name things the repo does not have (fix the docs, or allowlist an external name in scripts/doc-refs.py with its reason)"
fi
