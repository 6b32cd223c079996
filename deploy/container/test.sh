#!/usr/bin/env bash
# Builds the gateway's image with podman and runs it: a client must reach a board (the virtual board, in the
# container) through the containerised gateway on 127.0.0.1, and the mounted settings file must be in effect.
# Exit 0 only then. No image registry is needed: the base image is built here from Debian packages
# (debootstrap, then podman import) and cached as localhost/webrepl-test-base:trixie.
#
#   deploy/container/test.sh                      # publishes the native webrepl first
#   WEBREPL_PUBLISHED=DIR deploy/container/test.sh   # uses a webrepl already published (dotnet publish -r linux-x64)
#   DEBIAN_MIRROR=http://... ; WEBREPL_KEEP_IMAGE=1 (keep the test image)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# crun fails on this kind of machine (cgroups v1); runc with lowered limits works.
podman=(podman --runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
base=localhost/webrepl-test-base:trixie
image=localhost/webrepl-gateway:test
name="webrepl-gateway-test-$$"
work="$(mktemp -d /tmp/webrepl-container.XXXXXX)"
password=c0ntainr

cleanup() {
    "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
    [ "${WEBREPL_KEEP_IMAGE:-0}" = 1 ] || "${podman[@]}" rmi -f "$image" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "container test FAILED: $*" >&2; "${podman[@]}" logs "$name" 2>&1 | tail -40 >&2 || true; exit 1; }

# 1. The native webrepl, with its pages and the board's Node.js host beside it.
mkdir -p "$work/context"
if [ -n "${WEBREPL_PUBLISHED:-}" ]; then
    cp -a "$WEBREPL_PUBLISHED/." "$work/context/webrepl/"
else
    dotnet publish "$repo/src/WebRepl.Cli/WebRepl.Cli.csproj" -c Release -r linux-x64 -o "$work/context/webrepl" --nologo -v quiet
fi
[ -x "$work/context/webrepl/WebRepl.Cli" ] || fail "no native webrepl in $work/context/webrepl"
rm -f "$work/context/webrepl/"*.pdb "$work/context/webrepl/"*.dbg "$work/context/webrepl/"*.xml
cp "$here/Containerfile" "$here/entrypoint.sh" "$work/context/"

# 2. The base image, from Debian packages (what debian:trixie-slim plus the image's packages would be).
if ! "${podman[@]}" image exists "$base"; then
    echo "building $base with debootstrap (a few minutes, once)"
    debootstrap --variant=minbase --include=ca-certificates,libssl3t64,nodejs trixie "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    rm -rf "$work/rootfs"/usr/share/{doc,man,locale} "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/*
    tar -C "$work/rootfs" -c . | "${podman[@]}" import - "$base" >/dev/null
    rm -rf "$work/rootfs"
fi

# 3. The image, from the Containerfile as users build it, on the local base.
"${podman[@]}" build "${limits[@]}" --build-arg BASE="$base" -t "$image" -f "$work/context/Containerfile" "$work/context" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; fail "podman build"; }

# 4. Run it: settings from a mounted file (a named board, the keepalive) and from variables (the virtual board).
cat >"$work/gateway.json" <<JSON
{ "Gateway": { "Boards": { "fromfile": "ws://127.0.0.1:8266" }, "ClientKeepAliveSeconds": 15 } }
JSON
chmod 644 "$work/gateway.json"
"${podman[@]}" run -d --name "$name" "${limits[@]}" \
    -p 127.0.0.1::8765 \
    -v "$work/gateway.json:/etc/webrepl/gateway.json:ro" \
    -e WEBREPL_VIRTUAL_BOARD=1 -e WEBREPL_PASSWORD="$password" \
    "$image" >/dev/null || fail "podman run"
port="$("${podman[@]}" port "$name" 8765/tcp | head -1 | sed 's/.*://')"
[ -n "$port" ] || fail "no published port"
url="http://127.0.0.1:$port"

for _ in $(seq 1 120); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    "${podman[@]}" container exists "$name" && [ "$("${podman[@]}" inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the container stopped"
    sleep 0.5
done
curl -fsS "$url/healthz" >/dev/null || fail "no /healthz on $url"

# 5. What a user relies on.
boards="$(curl -fsS "$url/api/boards")"
grep -q '"name":"fromfile"' <<<"$boards" || fail "the mounted settings file was not read: $boards"
grep -q '"name":"virtual"' <<<"$boards" || fail "no virtual board: $boards"
curl -fsS "$url/" | grep -qi "<html" || fail "no terminal page at /"
[ "$("${podman[@]}" exec "$name" id -u)" != 0 ] || fail "the gateway runs as root"

webrepl="$work/context/webrepl/WebRepl.Cli"
target="ws://127.0.0.1:$port/boards/virtual"
out=""
for _ in $(seq 1 20); do   # the virtual board may still be starting its interpreter
    out="$("$webrepl" -t "$target" -p "$password" exec "print(6*7)" 2>&1 | tr -d '\r')" && [ "$out" = 42 ] && break
    sleep 1
done
[ "$out" = 42 ] || fail "exec through the containerised gateway printed '$out', not 42"
version="$("$webrepl" -t "$target" -p "$password" version)" || fail "version"
if "$webrepl" -t "$target" -p wrongpass exec "print(1)" >/dev/null 2>&1; then fail "a wrong password was accepted"; fi

# 6. Figures (bench/README.md).
size="$("${podman[@]}" image inspect -f '{{.Size}}' "$image")"
pid="$("${podman[@]}" inspect -f '{{.State.Pid}}' "$name")"
gateway_rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
node_rss="$(ps -o rss= --ppid "$pid" 2>/dev/null | awk '{s+=$1} END {print s+0}')"
echo "container test passed: exec through the gateway printed 42; MicroPython $version"
echo "image $image: $((size / 1000000)) MB; gateway process RSS $((gateway_rss / 1024)) MiB (virtual board's Node.js: $((node_rss / 1024)) MiB)"
