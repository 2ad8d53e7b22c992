#!/usr/bin/env bash
# The server step on the GPU against the CPU (bench/server_gpu.ts), on a GPU machine that has a
# copy of the working tree and nothing else: no network, no Deno, no npm cache. What it needs
# comes in the archive bench/device/pack.sh makes, carried as the ignored path
#   .device/server_gpu.tar.xz   (deno binary, DENO_DIR, libvulkan.so.1; about 47 MiB)
# It unpacks that under $TMPDIR, makes sure Dawn finds a Vulkan loader and the NVIDIA ICD, runs
# the bench offline (--cached-only) for both cuts, and prints the tables (also written to
# $OUT/server_gpu.txt when $OUT is set). Usage, from the repository root:
#   bash bench/device/server_gpu.sh [extra bench flags, e.g. --reps 20]
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ARCHIVE="$ROOT/.device/server_gpu.tar.xz"
WORK="${TMPDIR:-/tmp}/splitgate_server_gpu"
LOG="${OUT:-$WORK}/server_gpu.txt"
[ -f "$ARCHIVE" ] || { echo "server_gpu: $ARCHIVE is missing: run bench/device/pack.sh and carry it" >&2; exit 2; }
rm -rf "$WORK" && mkdir -p "$WORK" "$(dirname "$LOG")"
tar -C "$WORK" -xJf "$ARCHIVE" || { echo "server_gpu: cannot unpack $ARCHIVE" >&2; exit 2; }
export DENO_DIR="$WORK/deno_dir" DENO_NO_UPDATE_CHECK=1
DENO="$WORK/deno"

# Dawn dlopens libvulkan.so.1: the system's if there is one, else the packed loader.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  export LD_LIBRARY_PATH="$WORK/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "server_gpu: no system Vulkan loader; using the packed libvulkan.so.1"
fi
# The NVIDIA ICD: the driver's JSON if installed; else one written for its libGLX_nvidia.so.0
# (containers often mount the driver's libraries without the JSON).
ICD=""
for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json; do
  [ -f "$f" ] && { ICD="$f"; break; }
done
if [ -z "$ICD" ]; then
  GLX="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 /{print $NF; exit}')"
  [ -n "$GLX" ] || GLX="$(ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0 2>/dev/null | head -1)"
  if [ -n "$GLX" ]; then
    ICD="$WORK/nvidia_icd.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$GLX" > "$ICD"
    echo "server_gpu: wrote $ICD for $GLX"
  fi
fi
[ -n "$ICD" ] && export VK_ICD_FILENAMES="$ICD"
echo "server_gpu: Vulkan ICD ${ICD:-none found (Dawn will likely find no adapter)}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "server_gpu: nvidia-smi not available"
"$DENO" --version | head -1

run() {
  "$DENO" run --cached-only --allow-read --allow-env --allow-ffi --allow-sys bench/server_gpu.ts "$@" 2>&1
}
{
  echo "== cut features.5 (server: head), CPU 1 thread"
  run --cut features.5 --threads 1 "$@"
  echo "== cut features.2 (server: conv block + head), CPU 1 thread"
  run --cut features.2 --threads 1 "$@"
  echo "== cut features.2, CPU $(nproc) threads"
  run --cut features.2 --threads "$(nproc)" --rows 1024,4096 "$@"
} | tee "$LOG"
