#!/usr/bin/env bash
# For machines with a Docker client but no engine and no image registry (this project's CI):
# starts a private dockerd on loopback-only networking and creates local stand-ins that carry the
# official base-image tags the Dockerfile names, so the Dockerfile stays exactly what users build.
# Prints the DOCKER_HOST to use. Idempotent. See DOCKER-NOTES in the team's shared notes.
set -euo pipefail
root=${REWIND_DOCKER_ROOT:-/var/tmp/rewind-docker}
sock="$root/docker.sock"
export DOCKER_HOST="unix://$sock"
mkdir -p "$root"

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
  fi
  # No bridge, no iptables: every container uses --network=host and talks to loopback only.
  dockerd --data-root "$root/root" --exec-root "$root/exec" -H "$DOCKER_HOST" --pidfile "$root/dockerd.pid" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false >"$root/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "standins: dockerd did not start; see $root/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  rootfs="$root/bookworm-rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" >"$root/debootstrap.log" 2>&1
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi

# Every package the manifest names (https://github.com/OWNER/NAME); Rewind's dependencies have
# none of their own. A stand-in made for an older manifest is rebuilt.
repos=$(sed -n 's|.*\.package(url: "https://github.com/\([^"]*\)".*|\1.git|p' "$(dirname "$0")/../Package.swift")
swift_ready=false
if docker image inspect swift:6.3-bookworm >/dev/null 2>&1; then
  swift_ready=true
  for repo in $repos; do
    docker run --rm --network=none swift:6.3-bookworm test -d "/opt/swift-packages/$repo" || swift_ready=false
  done
fi
if [ "$swift_ready" != true ]; then
  context="$root/swift-context"
  rm -rf "$context"
  mkdir -p "$context/packages"
  toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
  cp -al "$toolchain" "$context/swift" 2>/dev/null || cp -a "$toolchain" "$context/swift"
  # The image cannot reach GitHub: bring the mirrored packages the manifest names.
  mirror=$(git config --system --get-regexp 'url\..*\.insteadof' | awk 'NR==1 {print $1}' | sed -e 's/^url\.//' -e 's/\.insteadof$//')
  for repo in $repos; do
    mkdir -p "$context/packages/$(dirname "$repo")"
    cp -a "${mirror%/}/$repo" "$context/packages/$repo"
  done
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends binutils libc6-dev libgcc-12-dev \
    libstdc++-12-dev libncurses6 libcurl4 libxml2 libsqlite3-0 zlib1g-dev pkg-config tzdata git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY swift/ /usr/local/swift/
COPY packages/ /opt/swift-packages/
RUN git config --system url./opt/swift-packages/.insteadOf https://github.com/ \
 && git config --system --add safe.directory '*'
ENV PATH=/usr/local/swift/usr/bin:$PATH
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build --network=host -q -t swift:6.3-bookworm "$context" >/dev/null
  rm -rf "$context"
fi
echo "$DOCKER_HOST"
