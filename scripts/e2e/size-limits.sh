#!/usr/bin/env bash
# Code a new engineer can carry on (issue 8): no main source file over 700 lines and no method over 70 in the
# modules below; prints the five largest files. The counting is scripts/size-report.py (brace depth, Java).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if python3 scripts/size-report.py --file-max 700 --method-max 70 raid daemon vhost nvmeof; then
  echo "size-limits: ok: raid/, daemon/, vhost/ and nvmeof/ main files <= 700 lines, methods <= 70"
else
  echo "size-limits: FAIL: the lines above are over the limits (split the file or the method)" >&2
  exit 1
fi
