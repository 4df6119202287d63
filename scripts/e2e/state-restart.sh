#!/usr/bin/env bash
# State that survives (issue 8): what RPC calls did comes back after a SIGKILL. `basalt serve` on the embedded
# default, then by RPC: drive_create d4, raid_fail_member vol0 d1, raid_add_member vol0 d4, a drive and a vhost
# export; SIGKILL; `basalt serve` with no arguments must bring vol0 back with d4 in role 1 (rebuilding or active)
# and no role missing, and the RPC-made drive and export. Then a --config start (replaces the saved state for
# that start) and --config-writeback (the running state goes back into the --config file too).
set -euo pipefail
E2E_NAME=state-restart
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Starts `basalt serve ARGS` in $WORK and waits until it answers.
serve() {
  "$B" serve "$@" > "$WORK/serve.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 120); do
    grep -q '^stop: Ctrl-C' "$WORK/serve.log" && return 0   # the banner: start-up is over and RPCs are served
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during start-up ($*)"
    sleep 0.5
  done
  fail "no answer after 60 s ($*)"
}

stop() { # SIGTERM and wait for exit 0
  kill -TERM "$DAEMON_PID"
  local rc=0; wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=""
  [ "$rc" -eq 0 ] || fail "daemon exit status $rc after SIGTERM"
}

cd "$WORK"   # the embedded default and the tour's relative paths live in ./basalt-data
serve
"$B" rpc drive_create '{"name":"d4","spec":"uring:basalt-data/drives/d4.img,size=1G"}' > /dev/null || fail "drive_create d4"
"$B" rpc raid_fail_member '{"name":"vol0","member":"d1"}' > /dev/null || fail "raid_fail_member vol0 d1"
"$B" rpc raid_add_member '{"name":"vol0","drive":"d4"}' > /dev/null || fail "raid_add_member vol0 d4"
"$B" rpc drive_create '{"name":"x0","spec":"uring:basalt-data/drives/x0.img,size=64M"}' > /dev/null || fail "drive_create x0"
"$B" rpc vhost_create '{"name":"x0e","drive":"x0"}' > /dev/null || fail "vhost_create x0e"
"$B" rpc config_save | grep -q '"name": "x0e"' || fail "config_save lacks the export: $("$B" rpc config_save)"
grep -q '"raid_create"' basalt-data/config.json && fail "the saved state creates an array: $(cat basalt-data/config.json)"
pass "changes made by RPC; vol0 rebuilds onto d4"

kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""
serve   # no arguments: the saved state
table=$("$B" raid status vol0)
echo "$table" | awk '$1 == "1" && $2 == "d4" && ($3 == "rebuilding" || $3 == "active") { found = 1 } END { exit !found }' \
  || fail "vol0 role 1 is not d4 after the restart: $table"
echo "$table" | grep -q missing && fail "a role is missing after the restart: $table"
"$B" rpc drive_list | grep -q '"name": "x0"' || fail "drive x0 not back"
"$B" rpc vhost_list | grep -q '"name": "x0e"' || fail "export x0e not back"
pass "after SIGKILL and a restart with no arguments: d4 in role 1, no role missing, x0 and x0e back"
stop

# --config replaces the saved state for this start; the running state is then saved as usual.
config="$WORK/mine.json"
spec() { echo "uring:$WORK/basalt-data/drives/$1.img"; }
cat > "$config" <<EOF
[
  {"method": "drive_create", "params": {"name": "d0", "spec": "$(spec d0)"}},
  {"method": "drive_create", "params": {"name": "d2", "spec": "$(spec d2)"}},
  {"method": "drive_create", "params": {"name": "d3", "spec": "$(spec d3)"}},
  {"method": "drive_create", "params": {"name": "d4", "spec": "$(spec d4)"}},
  {"method": "drive_create", "params": {"name": "c0", "spec": "memory:16M"}}
]
EOF
before=$(cat "$config")
serve --config "$config"
list=$("$B" rpc drive_list)
echo "$list" | grep -q '"name": "c0"' || fail "--config: c0 missing"
echo "$list" | grep -q '"name": "x0"' && fail "--config: the saved state was replayed too"
"$B" raid status vol0 | grep -q missing && fail "--config: vol0 not whole"
grep -q '"c0"' basalt-data/config.json || fail "--config: the running state was not saved"
[ "$(cat "$config")" = "$before" ] || fail "--config without --config-writeback changed the file"
stop
pass "--config replaces the saved state for its start and leaves its file alone"

serve --config "$config" --config-writeback
"$B" rpc drive_create '{"name":"w0","spec":"memory:16M"}' > /dev/null || fail "drive_create w0"
for _ in $(seq 1 50); do grep -q '"w0"' "$config" && break; sleep 0.1; done
grep -q '"w0"' "$config" || fail "--config-writeback: w0 not written back: $(cat "$config")"
stop
grep -q '"w0"' basalt-data/config.json || fail "the saved state lacks w0"
pass "--config-writeback writes the running state back to the --config file"
