#!/usr/bin/env bash
# Boots the linux/arm64 parleyd under qemu-user on loopback and checks that it
# bootstraps a cluster and answers /healthz. Fails loudly if qemu is missing.
set -euo pipefail
bin=${1:?usage: arm64-smoke.sh PATH/TO/arm64/parleyd}
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
  echo "arm64-smoke: qemu-aarch64-static not found: apt-get install qemu-user-static" >&2
  exit 1
fi
dir=$(mktemp -d)
log="$dir/parleyd.log"
port=$((20000 + RANDOM % 20000))
"$qemu" "$bin" --data "$dir/data" --listen "127.0.0.1:$port" --raft "127.0.0.1:$((port + 1))" \
  --http "127.0.0.1:$((port + 2))" --advertise 127.0.0.1 --profile small --shards 2 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 240); do
  if body=$(curl -fsS "http://127.0.0.1:$((port + 2))/healthz" 2>/dev/null); then
    echo "arm64-smoke: ok: $body"
    exit 0
  fi
  if ! kill -0 $pid 2>/dev/null; then break; fi
  sleep 0.5
done
echo "arm64-smoke: parleyd under qemu did not become healthy; its log:" >&2
cat "$log" >&2
exit 1
