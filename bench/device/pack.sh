#!/usr/bin/env bash
# Packs what bench/device/server_gpu.sh needs on a machine with no network into one archive,
# .device/server_gpu.tar.xz (an ignored folder), and prints its size. The device tool carries
# at most 64 MiB of ignored paths, so only what the server bench loads goes in:
#   deno            the Deno binary this machine runs (same version as `npx -y deno@2.9.6`)
#   deno_dir/       a DENO_DIR filled by `deno cache bench/server_gpu.ts` (the lockfile's npm
#                   snapshot), without what the bench never loads: onnxruntime-node's binaries
#                   for other platforms than linux/x64 and onnxruntime-web's WebAssembly files
#   vulkan/         libvulkan.so.1 (Debian bookworm's libvulkan1), used only where the device
#                   has no Vulkan loader of its own: Dawn, inside onnxruntime-node, dlopens it
# Needs: npx (for deno), xz, and apt-get download for the Vulkan loader (skipped without it).
# Usage: bash bench/device/pack.sh     (from anywhere; the repository root is found from here)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
DENO_VERSION=2.9.6
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
OUT_DIR="$ROOT/.device"
ARCHIVE="$OUT_DIR/server_gpu.tar.xz"
mkdir -p "$OUT_DIR"

# The deno binary: the one npx runs (resolved by asking it where it is).
DENO_BIN="$(npx -y "deno@$DENO_VERSION" eval --quiet 'console.log(Deno.execPath())')"
cp "$DENO_BIN" "$STAGE/deno"

# A fresh DENO_DIR with exactly what the bench's module graph and the lockfile need.
DENO_DIR="$STAGE/deno_dir" "$STAGE/deno" cache --quiet bench/server_gpu.ts
NPM="$STAGE/deno_dir/npm/registry.npmjs.org"
for d in "$NPM"/onnxruntime-node/*/bin/napi-v6/*/*; do
  case "$d" in */linux/x64) ;; *) rm -rf "$d" ;; esac
done
rm -f "$NPM"/onnxruntime-web/*/dist/*.wasm

# The Vulkan loader, for a device image without one.
mkdir -p "$STAGE/vulkan"
if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
  (cd "$STAGE" && apt-get download libvulkan1 >/dev/null 2>&1 && dpkg-deb -x libvulkan1_*.deb deb && rm -f libvulkan1_*.deb) || true
  cp -L "$STAGE"/deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$STAGE/vulkan/" 2>/dev/null || true
  rm -rf "$STAGE/deb"
fi
[ -e "$STAGE/vulkan/libvulkan.so.1" ] || echo "pack: no libvulkan.so.1 packed (apt-get download libvulkan1 failed); the device must have its own" >&2

echo "pack: compressing $(du -sh "$STAGE" | cut -f1) ..." >&2
tar -C "$STAGE" -cf - deno deno_dir vulkan | xz -9 -T0 > "$ARCHIVE"
BYTES=$(stat -c %s "$ARCHIVE")
echo "$ARCHIVE: $BYTES bytes ($((BYTES / 1048576)) MiB; the device tool carries at most 64 MiB)"
[ "$BYTES" -le $((64 * 1048576)) ] || { echo "pack: too large to carry" >&2; exit 1; }
