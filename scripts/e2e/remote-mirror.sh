#!/usr/bin/env bash
# The README's tour of a RAID1 across two daemons on one machine (issue 13), run as written there. A "remote" daemon
# exports one drive over NVMe/TCP on 127.0.0.1:4430; the embedded-default daemon mirrors a local drive with that
# namespace (an nvme-tcp drive) and exports the mirror over NVMe/TCP itself, where `basalt bench` writes to it. The
# remote daemon is SIGKILLed under those writes: the mirror must go on degraded (the remote member faulty, no write
# failed). The remote daemon restarts from its saved state; the drive reconnects by itself; remove + add rebuilds
# the member; a check then finds no mismatch between the two copies.
set -euo pipefail
E2E_NAME=remote-mirror
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
REMOTE_PID=""
trap 'if [ -n "$REMOTE_PID" ]; then kill -KILL "$REMOTE_PID" 2>/dev/null || true; wait "$REMOTE_PID" 2>/dev/null || true; fi; cleanup' EXIT

# Starts `basalt serve ARGS` in $WORK with its output in LOG, waits for the banner; the pid in $STARTED_PID.
serve() {
  local log="$1"; shift
  "$B" serve "$@" > "$log" 2>&1 &
  STARTED_PID=$!
  for _ in $(seq 1 120); do
    grep -q '^stop: Ctrl-C' "$log" && return 0
    kill -0 "$STARTED_PID" 2>/dev/null || fail "daemon exited during start-up ($*): $(cat "$log")"
    sleep 0.5
  done
  fail "no answer after 60 s ($*)"
}
member_is() { [ "$("$B" raid status mirror | awk -v d="$1" '$2 == d { print $3 }')" = "$2" ]; }
await() { # await SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
  local secs="$1" what="$2"; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" && return 0; sleep 0.2; done
  fail "not within $secs s: $what; raid status: $("$B" raid status mirror 2>&1)"
}

cd "$WORK"
serve "$WORK/serve.log"; DAEMON_PID=$STARTED_PID          # the embedded default: ./basalt-data, NVMe/TCP on 4420

# --- the tour, as README.md shows it ---
cat > remote.json <<'EOF'
[
  {"method": "drive_create", "params": {"name": "m0", "spec": "uring:remote/m0.img,size=256M"}},
  {"method": "nvmf_subsystem_create", "params": {"nqn": "nqn.2026-12.io.basalt:m0", "allow_any_host": true}},
  {"method": "nvmf_namespace_add", "params": {"nqn": "nqn.2026-12.io.basalt:m0", "drive": "m0"}},
  {"method": "nvmf_listener_add", "params": {"address": "127.0.0.1", "port": 4430}}
]
EOF
serve "$WORK/remote.log" --data-dir remote --config remote.json; REMOTE_PID=$STARTED_PID
"$B" rpc drive_create '{"name":"l0","spec":"uring:basalt-data/drives/l0.img,size=256M"}' > /dev/null || fail "drive_create l0"
"$B" rpc drive_create '{"name":"r0","spec":"nvme-tcp://127.0.0.1:4430/nqn.2026-12.io.basalt:m0?nsid=1&timeout_ms=2000&reconnect_max_ms=500"}' \
  > /dev/null || fail "drive_create r0"
"$B" rpc raid_create '{"name":"mirror","level":1,"members":["l0","r0"]}' > /dev/null || fail "raid_create mirror"
"$B" rpc nvmf_subsystem_create '{"nqn":"nqn.2026-12.io.basalt:mirror","allow_any_host":true}' > /dev/null || fail "nvmf_subsystem_create"
"$B" rpc nvmf_namespace_add '{"nqn":"nqn.2026-12.io.basalt:mirror","drive":"mirror"}' > /dev/null || fail "nvmf_namespace_add"
pass "mirror of l0 (local) and r0 (the other daemon's m0 over NVMe/TCP), exported as nqn.2026-12.io.basalt:mirror"

# Writes to the mirror through its own NVMe/TCP export while the remote daemon is killed.
TARGET='nvme-tcp://127.0.0.1:4420/nqn.2026-12.io.basalt:mirror?nsid=1'
"$B" bench --target "$TARGET" --rw randwrite --iodepth 16 --seconds 6 --ramp-seconds 0 --json > bench.log 2>&1 &
BENCH_PID=$!
sleep 2
kill -KILL "$REMOTE_PID"; wait "$REMOTE_PID" 2>/dev/null || true; REMOTE_PID=""
wait "$BENCH_PID" || fail "writes to the mirror failed while the remote daemon died: $(cat bench.log)"
grep -Eq '"errors" ?: ?0[,}]' bench.log || fail "writes failed while the remote daemon died: $(cat bench.log)"
await 10 "r0 faulty" member_is r0 faulty
pass "remote daemon SIGKILLed under writes: no write failed, r0 faulty, mirror degraded"

serve "$WORK/remote.log" --data-dir remote; REMOTE_PID=$STARTED_PID   # its saved state: same drive, NQN, port
sleep 1.5 # the drive's reconnect backoff is at most 0.5 s here
"$B" rpc raid_remove_member '{"name":"mirror","drive":"r0"}' > /dev/null || fail "raid_remove_member r0"
"$B" rpc raid_add_member '{"name":"mirror","drive":"r0"}' > /dev/null || fail "raid_add_member r0"
await 30 "r0 rebuilt" member_is r0 active
"$B" rpc raid_check '{"name":"mirror"}' > /dev/null || fail "raid_check"
check_done() { local s; s=$("$B" rpc raid_status '{"name":"mirror"}'); grep -q '"last_state": "done"' <<<"$s" && grep -q '"last_action": "check"' <<<"$s"; }
await 60 "check done" check_done
"$B" rpc raid_status '{"name":"mirror"}' | grep -q '"mismatch_sectors": 0' || fail "mirror copies differ: $("$B" rpc raid_status '{"name":"mirror"}')"
pass "remote back from its saved state, r0 rebuilt, check: 0 mismatched sectors"
