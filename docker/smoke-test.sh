#!/usr/bin/env bash
# Builds the image from docker/Dockerfile and checks it for real: a job submitted with curl
# succeeds, the data survives a container restart on its /data volume, SIGTERM hands a running job
# back and `docker stop` exits 0, the restarted container resumes the job, and the HEALTHCHECK
# (which runs the binary itself) reports healthy. Everything runs with --network=host on loopback.
# First, compose.yaml's scale-out profile is checked with `docker compose config` (PostgreSQL, an
# API-only node, two worker-only nodes); the multi-process behaviour itself is tested against a real
# PostgreSQL by the Swift tests (FleetTests).
#
# Where no Docker engine or registry is available (this project's CI), docker/standins.sh starts a
# private engine and creates local stand-ins for the official base images first.
set -euo pipefail
cd "$(dirname "$0")/.."
image=rewind:smoke
name=rewind-smoke-$$
volume=rewind-smoke-data-$$

# The Compose CLI plugin where it exists, Debian's docker-compose otherwise.
compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}
scale_out=$(compose -f docker/compose.yaml --profile scale-out config)
for service in postgres api worker; do
  grep -q "^  $service:" <<<"$scale_out" || { echo "smoke: FAILED: the scale-out profile has no $service" >&2; exit 1; }
done
grep -q "image: postgres:15" <<<"$scale_out" || { echo "smoke: FAILED: the scale-out profile does not use postgres:15" >&2; exit 1; }
grep -Eq "^ +(scale|replicas): 2" <<<"$scale_out" || { echo "smoke: FAILED: the scale-out profile does not run two workers" >&2; exit 1; }
printf 'smoke: compose scale-out profile: %s\n' "$(compose -f docker/compose.yaml --profile scale-out config --services | tr '\n' ' ')" >&2

if ! docker info >/dev/null 2>&1; then
  DOCKER_HOST=$(bash docker/standins.sh | tail -n 1)
  export DOCKER_HOST
fi

log() { printf 'smoke: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; docker logs "$name" 2>&1 | tail -n 30 >&2 || true; exit 1; }
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "building $image"
DOCKER_BUILDKIT=0 docker build --network=host -q -t "$image" -f docker/Dockerfile . >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
start() {
  docker start "$name" >/dev/null
  for _ in $(seq 1 100); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the service did not become ready"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
wait_for() {  # wait_for JOB_ID STATUS SECONDS
  for _ in $(seq 1 $(($3 * 5))); do
    status=$(curl -fsS "$url/v1/jobs/$1" | field '["status"]')
    [ "$status" = "$2" ] && return 0
    sleep 0.2
  done
  fail "job $1 is $status, not $2, after $3 s"
}

docker volume create "$volume" >/dev/null
docker create --name "$name" --network=host --stop-timeout 30 \
  -e REWIND_HOST=127.0.0.1 -e REWIND_PORT="$port" -e REWIND_WORKERS=1 -v "$volume:/data" "$image" >/dev/null
start
log "service ready on $url"

small='{"name":"smoke","dataset":{"name":"digits"},"split":{"train":300,"validation":200},"model":{"hidden":[16]},"training":{"iterations":20,"batch_size":50},"meta":{"iterations":3}}'
job=$(curl -fsS -X POST "$url/v1/jobs" -H 'Content-Type: application/json' -d "$small" | field '["id"]')
wait_for "$job" succeeded 60
items=$(curl -fsS "$url/v1/jobs/$job/history" | field '["items"].__len__()')
[ "$items" = 4 ] || fail "expected 4 history items, got $items"
log "job $job succeeded with $items history items"

log "restarting the container"
docker restart -t 30 "$name" >/dev/null
start
[ "$(curl -fsS "$url/v1/jobs/$job" | field '["status"]')" = succeeded ] || fail "the job did not survive a restart"
log "the job survived the restart"

long='{"name":"smoke-long","dataset":{"name":"digits"},"training":{"iterations":100},"meta":{"iterations":300}}'
running=$(curl -fsS -X POST "$url/v1/jobs" -H 'Content-Type: application/json' -d "$long" | field '["id"]')
wait_for "$running" running 30
for _ in $(seq 1 150); do
  done_items=$(curl -fsS "$url/v1/jobs/$running" | field '["progress"]["done"]')
  [ "$done_items" -ge 1 ] && break
  sleep 0.2
done
log "stopping with a job running ($done_items items done)"
docker stop -t 30 "$name" >/dev/null
exit_code=$(docker inspect --format '{{.State.ExitCode}}' "$name")
[ "$exit_code" = 0 ] || fail "docker stop: the server exited with $exit_code, not 0"
docker logs "$name" 2>&1 | grep -q '"job handed back"' || fail "the running job was not handed back on SIGTERM"
log "docker stop exited 0 and the job was handed back"

start
wait_for "$running" running 30
for _ in $(seq 1 150); do
  now_items=$(curl -fsS "$url/v1/jobs/$running" | field '["progress"]["done"]')
  [ "$now_items" -gt "$done_items" ] && break
  sleep 0.2
done
[ "$now_items" -gt "$done_items" ] || fail "the resumed job made no progress"
log "the job resumed after the restart ($now_items items done)"
curl -fsS -X POST "$url/v1/jobs/$running/cancel" >/dev/null
wait_for "$running" cancelled 30

for _ in $(seq 1 60); do
  health=$(docker inspect --format '{{.State.Health.Status}}' "$name")
  [ "$health" = healthy ] && break
  sleep 1
done
[ "$health" = healthy ] || fail "HEALTHCHECK reports $health"
log "HEALTHCHECK: healthy"

docker stop -t 30 "$name" >/dev/null
[ "$(docker inspect --format '{{.State.ExitCode}}' "$name")" = 0 ] || fail "final docker stop did not exit 0"
log "passed"
