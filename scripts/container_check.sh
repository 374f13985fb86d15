#!/usr/bin/env bash
# Build the service image, run it, check it reports the expected commit, smoke-test it and print its
# figures: image size, cold start (container start -> first scored request), RSS at idle, shutdown time.
#
# usage: scripts/container_check.sh [--context DIR --expect-commit SHA] [--measure] [--no-token] [--example FILE]
#   --context DIR        build this folder (a staged or downloaded Space); by default the repo is staged
#                        first (scripts/deploy_space.py --stage), so the image is built from the upload set
#   --expect-commit SHA  the commit /readyz must report (default: the one recorded in DIR/build-info.json)
#   --measure            also send 10,000 REST scores and print the RSS after them (about a minute more)
#   --no-token           run the container without API_TOKEN (demo mode); by default a random token is set,
#                        as in production, so the smoke test goes through the bearer and login paths
#   --example F          application scored by the smoke test (default example.json at the repo root)
# Environment: PYTHON (default .venv/bin/python) runs scripts/verify_deploy.py and scripts/smoke.py on the host.
# Uses shared/tools/container-check (rootful podman, local python:3.11-slim stand-in).
set -euo pipefail

measure='' example='' context='' commit='' token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
while [ $# -gt 0 ]; do
  case "$1" in
    --context) context=$(realpath "$2"); shift 2 ;;
    --expect-commit) commit=$2; shift 2 ;;
    --measure) measure=1; shift ;;
    --no-token) token=; shift ;;
    --example) example=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "container_check: unknown option $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shared/ sits next to the checkout; a git worktree under wt/ finds it one level further up.
tool=${CONTAINER_CHECK:-}
for candidate in "$(dirname "$root")/shared/tools/container-check" "$(dirname "$(dirname "$root")")/shared/tools/container-check"; do
  [ -n "$tool" ] || { [ -x "$candidate" ] && tool=$candidate; }
done
if [ -z "$tool" ] || [ ! -x "$tool" ]; then
  echo "container_check: container-check not found (set CONTAINER_CHECK, or put shared/ next to the repo)" >&2
  exit 2
fi
py=${PYTHON:-$root/.venv/bin/python}
[ -x "$py" ] || py=$(command -v python3)
example=${example:-$root/example.json}
[ -f "$example" ] || { echo "container_check: no example application at $example" >&2; exit 2; }

work=$(mktemp -d)
name=
cleanup() {
  [ -z "$name" ] || podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'container_check: %s\n' "$*"; }

cd "$root"
if [ -z "$context" ]; then
  context=$work/space
  "$py" scripts/deploy_space.py --stage "$context" | sed 's/^/container_check: /'
fi
[ -f "$context/Dockerfile" ] || { echo "container_check: no Dockerfile in $context" >&2; exit 2; }
if [ -z "$commit" ]; then
  commit=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["commit"])' "$context/build-info.json") \
    || { echo "container_check: no commit given and none in $context/build-info.json" >&2; exit 2; }
fi
say "building $context, expecting commit $commit"
# The podman settings container-check writes for this machine (same path rule as the tool).
export CONTAINERS_CONF=${CONTAINER_CHECK_WORK:-$(dirname "$(mktemp -u)")/container-check}/containers.conf
# Docker image format keeps the HEALTHCHECK (podman's default OCI format drops it). Without systemd,
# podman cannot schedule it and logs "unable to get systemd connection": harmless, it is run once below.
export BUILDAH_FORMAT=docker
envs=()
# no token: the container refuses to start open unless asked explicitly (issue 14 item 11)
if [ -n "$token" ]; then envs=(--env "API_TOKEN=$token"); else envs=(--env "OPEN_DEMO=1"); fi
# /readyz must report the expected commit (the post-deploy check of CI), then the smoke test runs.
smoke="API_TOKEN='$token' '$py' scripts/verify_deploy.py --base-url \"\$BASE_URL\" --commit '$commit' \
  --timeout 60 --interval 0.5 --example '$example' --stamp-file '$work/scored-at'"

# Run in the background to know its pid: container-check names its container container-check-<pid>,
# which this script measures and then removes (--keep), whatever the outcome.
"$tool" --context "$context" --port 7860 --path /readyz --keep "${envs[@]}" --smoke "$smoke" >"$work/check.log" 2>&1 &
pid=$!
name=container-check-$pid
tail -n +1 --pid="$pid" -f "$work/check.log"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || { say "FAILED (container-check exit $status)"; exit "$status"; }
base_url=$(sed -n 's/^container-check: container [^ ]* left running at \(.*\)/\1/p' "$work/check.log")

image_mb=$(podman image inspect -f '{{.Size}}' localhost/container-check:latest | awk '{printf "%.0f", $1/1e6}')
started_ns=$(podman inspect -f '{{.State.StartedAt.UnixNano}}' "$name")
cold=$(awk -v a="$started_ns" -v b="$(cat "$work/scored-at")" 'BEGIN{printf "%.1f", (b-a)/1e9}')

if podman healthcheck run "$name" >/dev/null 2>&1; then health=healthy; else
  say "FAILED: the image's HEALTHCHECK does not pass"; podman logs --tail 30 "$name"; exit 1; fi

# The service process inside the container (PID 1 is the --init shim).
app_pid=$(podman top "$name" pid args | awk '$2 == "python" && $3 == "app.py" {print $1; exit}')
[ -n "$app_pid" ] || { say "FAILED: no 'python app.py' process in the container"; exit 1; }
rss_mb() { podman exec "$name" awk -v k="$1:" '$1 == k {printf "%.0f", $2/1024}' "/proc/$app_pid/status"; }
cgroup_mem() { podman stats --no-stream --format '{{.MemUsage}}' "$name" | cut -d/ -f1 | tr -d ' '; }

sleep 3
idle_rss=$(rss_mb VmRSS) idle_cgroup=$(cgroup_mem)
podman exec -i "$name" python - 20 < scripts/venv_sizes.py | sed 's/^/container_check: /'
if [ -n "$measure" ]; then
  say "sending 10,000 REST scores"
  API_TOKEN="$token" "$py" scripts/smoke.py --base-url "$base_url" --example "$example" --load 10000 --concurrency 8
  sleep 3
  load_rss=$(rss_mb VmRSS) peak_rss=$(rss_mb VmHWM) load_cgroup=$(cgroup_mem)
fi

# Cold start again, on restarts of the same container: curl polls POST /api/v1/score every 0.1 s, so
# the figure is the service's (the first start above also counts the host-side smoke runner's startup).
auth=()
[ -z "$token" ] || auth=(-H "Authorization: Bearer $token")
restarts=()
for _ in 1 2 3; do
  podman restart -t 10 "$name" >/dev/null
  port_url=$(podman port "$name" 7860/tcp | head -1)
  polls=0
  until curl -fsS -m 2 -o /dev/null "${auth[@]}" -H 'content-type: application/json' --data @"$example" \
        "http://$port_url/api/v1/score" 2>/dev/null; do
    polls=$((polls + 1))  # podman inspect is heavy: look at the container only every 50 polls
    if [ $((polls % 50)) -eq 0 ] && [ "$(podman inspect -f '{{.State.Running}}' "$name")" != true ]; then
      say "FAILED: the container died on restart"; podman logs --tail 30 "$name"; exit 1
    fi
    [ "$polls" -lt 3000 ] || { say "FAILED: no score within 300 s of a restart"; exit 1; }
    sleep 0.1
  done
  scored=$(date +%s%N)
  restarts+=("$(awk -v a="$(podman inspect -f '{{.State.StartedAt.UnixNano}}' "$name")" -v b="$scored" 'BEGIN{printf "%.1f", (b-a)/1e9}')")
done
restart_median=$(printf '%s\n' "${restarts[@]}" | sort -n | sed -n 2p)

# SIGTERM: the service pushes its log once more and must be gone within a few seconds.
start=$(date +%s.%N)
podman stop -t 15 "$name" >/dev/null
stop_s=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}')
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "$name")

say "---- figures (python:3.11-slim stand-in base) ----"
say "image size            ${image_mb} MB"
say "cold start            ${restart_median} s (median of 3 restarts: ${restarts[*]} s; container start -> first REST score answered)"
say "first start           ${cold} s (the same, timed through the host-side smoke test)"
say "healthcheck           ${health}"
say "RSS at idle           ${idle_rss} MB (app process; container cgroup ${idle_cgroup})"
if [ -n "$measure" ]; then
  say "RSS after 10k scores  ${load_rss} MB (peak ${peak_rss} MB; container cgroup ${load_cgroup})"
fi
say "stop on SIGTERM       ${stop_s} s, exit code ${exit_code}"
awk -v s="$stop_s" 'BEGIN{exit !(s > 10)}' && { say "FAILED: the service took more than 10 s to stop"; exit 1; }
say "OK"
