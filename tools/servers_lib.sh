# Sourced by the tools that start servers (never run on its own). stop_servers: every process in the array `pids`
# gets SIGTERM, then is waited for (up to 10 s each, SIGKILL after that); `pids` is emptied.
stop_servers() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
