#!/usr/bin/env bash
# End to end through the real launcher: `basalt serve` comes up on the embedded default, `basalt rpc` answers
# (good calls and bad ones), `basalt bench` runs, and SIGTERM stops the daemon with exit 0.
set -euo pipefail
E2E_NAME=serve-smoke
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

cd "$WORK"   # the embedded default puts ./basalt-data in the current folder
"$B" serve > "$WORK/serve.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 120); do
  [ -S "$WORK/basalt-data/basalt.sock" ] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up"
  sleep 0.5
done
[ -S "$WORK/basalt-data/basalt.sock" ] || fail "no socket after 60 s"
for _ in $(seq 1 120); do # the socket comes first; the start-up (config replay) is over at the banner's last line
  grep -q '^stop: Ctrl-C' "$WORK/serve.log" && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up"
  sleep 0.5
done
mode=$(stat -c %a "$WORK/basalt-data/basalt.sock")
[ "$mode" = "600" ] || fail "socket mode is $mode, not 600"
pass "serve came up, socket mode 0600"

list=$("$B" rpc drive_list) || fail "rpc drive_list failed"
for d in d0 d1 d2 d3; do echo "$list" | grep -q "\"name\": \"$d\"" || fail "drive_list lacks $d: $list"; done
pass "rpc drive_list shows d0..d3"

# S3: the banner prints an AWS CLI line with the endpoint and the key; it must work exactly as printed.
for _ in $(seq 1 20); do grep -q -- 'aws --endpoint-url' "$WORK/serve.log" && break; sleep 0.5; done
printed=$(grep -o -- 'AWS_ACCESS_KEY_ID=.* aws --endpoint-url .*' "$WORK/serve.log") || fail "the banner printed no aws line"
aws_prefix=${printed% s3 ls}
[ "$aws_prefix" != "$printed" ] || fail "the banner's aws line does not end in 's3 ls': $printed"
echo "$printed" | grep -q "endpoint-url http://127.0.0.1:8080" || fail "S3 not on 127.0.0.1:8080: $printed"
[ "$(stat -c %a "$WORK/basalt-data/s3-credentials")" = "600" ] || fail "s3-credentials is not mode 0600"
"$B" rpc s3_status | grep -q '"running": true' || fail "s3_status: $("$B" rpc s3_status)"
"$B" rpc s3_status | grep -q '"volume:obj0"' || fail "s3_status lacks the volume mountpath on obj0: $("$B" rpc s3_status)"
if ! command -v aws > /dev/null; then
  echo "$E2E_NAME: SKIP: the banner's aws line is not run: no aws CLI on PATH (scripts/install-deps.sh installs awscli)"
else
  env -u AWS_PROFILE -u AWS_ENDPOINT_URL bash -c "$printed" > "$WORK/aws-ls0.txt" 2>&1 || fail "the banner's line failed as printed: $printed: $(cat "$WORK/aws-ls0.txt")"
  s3() { env -u AWS_PROFILE -u AWS_ENDPOINT_URL bash -c "$aws_prefix s3 $*" 2>&1; }
  s3 mb s3://smoke > "$WORK/aws.txt" || fail "aws s3 mb: $(cat "$WORK/aws.txt")"
  head -c 3000000 /dev/urandom > "$WORK/in.bin"
  s3 cp "$WORK/in.bin" s3://smoke/dir/in.bin > "$WORK/aws.txt" || fail "aws s3 cp in: $(cat "$WORK/aws.txt")"
  s3 cp s3://smoke/dir/in.bin "$WORK/out.bin" > "$WORK/aws.txt" || fail "aws s3 cp out: $(cat "$WORK/aws.txt")"
  cmp -s "$WORK/in.bin" "$WORK/out.bin" || fail "the object read back differs from the one written"
  s3 ls | grep -q ' smoke$' || fail "aws s3 ls lacks the bucket: $(s3 ls)"
  s3 ls --recursive s3://smoke | grep -q ' 3000000 dir/in.bin$' || fail "aws s3 ls s3://smoke: $(s3 ls --recursive s3://smoke)"
  pass "s3_status lists volume:obj0; the banner's aws line works as printed: s3 mb, cp in and out (3 MB, same bytes), ls"
fi

"$B" rpc drive_create '{"name":"m0","spec":"memory:64M"}' > /dev/null || fail "drive_create m0"
"$B" rpc drive_list | grep -q '"name": "m0"' || fail "m0 not listed"
pass "rpc drive_create memory drive"

if "$B" rpc drive_create '{"name":"m0","spec":"memory:64M"}' 2> "$WORK/err.txt"; then fail "duplicate name accepted"; fi
grep -q -- "-3260" "$WORK/err.txt" || fail "duplicate name: no JSON-RPC error: $(cat "$WORK/err.txt")"
if "$B" rpc no_such_method 2> "$WORK/err.txt"; then fail "unknown method accepted"; fi
grep -q -- "-32601" "$WORK/err.txt" || fail "unknown method: $(cat "$WORK/err.txt")"
if "$B" rpc drive_create '{"name":"x","spec":"uring:/nonexistent/file"}' 2> "$WORK/err.txt"; then fail "missing file accepted"; fi
grep -q "nonexistent" "$WORK/err.txt" || fail "missing file: unclear error: $(cat "$WORK/err.txt")"
"$B" rpc daemon_status > /dev/null || fail "daemon stopped serving after bad requests"
pass "bad requests get JSON-RPC errors and the daemon keeps serving"

"$B" rpc drive_delete '{"name":"m0"}' > /dev/null || fail "drive_delete"
pass "rpc drive_delete"

json=$("$B" bench --target memory:64M --seconds 1 --ramp-seconds 0.2 --json)
echo "$json" | grep -q '"iops":' || fail "bench printed no iops: $json"
# AllocationTest proves exactly 0 per I/O after warm-up; a 1 s run may still show a few hundred bytes of JIT
# warm-up in total, while any allocation per I/O is at least 16 bytes each. So: below 1 byte per I/O.
alloc=$(echo "$json" | grep -o '"alloc_bytes_per_io":[0-9.eE+-]*' | cut -d: -f2)   # Jackson writes 2.6E-5 for tiny values
awk -v a="$alloc" 'BEGIN { exit !(a < 1) }' || fail "bench allocated on the data path: $json"
pass "bench --json on memory: $(echo "$json" | grep -o '"iops":[0-9.]*')"

kill -TERM "$DAEMON_PID"
rc=0; wait "$DAEMON_PID" || rc=$?
DAEMON_PID=""
[ "$rc" -eq 0 ] || fail "daemon exit status $rc after SIGTERM"
[ ! -e "$WORK/basalt-data/basalt.sock" ] || fail "socket file left behind"
pass "SIGTERM: exit 0, socket removed"
