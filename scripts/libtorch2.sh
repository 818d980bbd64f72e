#!/usr/bin/env bash
# A Debian sid root with libtorch 2.x (CPU) for building and testing llmtrain against libtorch 2.x on a machine whose
# own libtorch is Debian 12's 1.13. Needs root (mmdebstrap or debootstrap, chroot, mount).
#
#   scripts/libtorch2.sh ensure          make the root if it is missing (about a minute with a fast mirror), print its libtorch version
#   scripts/libtorch2.sh build           build the native shim against it into artifacts/native-2x/libllmtorch.so,
#                                        and compile the CUDA-only sources (not linked) against the CUDA headers
#   scripts/libtorch2.sh exec CMD...     run CMD inside it, with the repository and the .NET SDK at the same paths as here
#   scripts/libtorch2.sh path            print where the root is
#
# The root is cached outside the checkout in $LLMTRAIN_CHROOT_CACHE (default /var/cache/llmtrain), under a name made from
# the recipe below, and reused while it works; the versions it holds are in its /llmtrain-versions.txt.
# Everything mounted is unmounted again, also on failure. If sid's libtorch cannot be installed, trixie's (2.6) is used and
# the output says so.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[libtorch2] %s\n' "$*" >&2; }

CACHE=${LLMTRAIN_CHROOT_CACHE:-/var/cache/llmtrain}
# Gloo's headers for distributed training, Node.js for the GGUF export test's independent parser, fonts for plots.
PACKAGES="libtorch-dev,libgloo-dev,g++,cmake,make,libopenblas0-pthread,libcu++-dev,ca-certificates,nodejs,fonts-dejavu-core"
MIRROR=${LLMTRAIN_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
  # The mirror apt already uses on this machine.
  MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
           | grep -oE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' | awk '{print $2}' | head -1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
RECIPE_VERSION=1
recipe_id() { printf '%s|%s|%s' "$RECIPE_VERSION" "$1" "$PACKAGES" | sha256sum | cut -c1-12; }

root_for() { echo "$CACHE/libtorch2-$1-$(recipe_id "$1")"; }

current_root() {
  for suite in sid trixie; do
    local r; r=$(root_for "$suite")
    if [ -f "$r/llmtrain-versions.txt" ]; then echo "$r"; return 0; fi
  done
  return 1
}

make_root() {
  local suite=$1 target; target=$(root_for "$suite")
  local tmp="$target.tmp"
  rm -rf "$tmp"
  mkdir -p "$CACHE"
  say "making a Debian $suite root with libtorch at $target (mirror $MIRROR)"
  local opts=(--variant=minbase --components=main,contrib,non-free --aptopt='Acquire::Check-Valid-Until "false"'
              --include="$PACKAGES")
  if command -v mmdebstrap >/dev/null 2>&1; then
    mmdebstrap "${opts[@]}" "$suite" "$tmp" "$MIRROR" >"$CACHE/mmdebstrap-$suite.log" 2>&1 || { tail -20 "$CACHE/mmdebstrap-$suite.log" >&2; rm -rf "$tmp"; return 1; }
  else
    debootstrap --variant=minbase --components=main,contrib,non-free --include="$PACKAGES" "$suite" "$tmp" "$MIRROR" \
      >"$CACHE/debootstrap-$suite.log" 2>&1 || { tail -20 "$CACHE/debootstrap-$suite.log" >&2; rm -rf "$tmp"; return 1; }
  fi
  # CUDA headers (Debian's non-free nvidia-cuda-dev, with libcu++-dev for <nv/target>) so the CUDA-only sources can be compiled, not linked: only its
  # include directory is kept (16 MB of a 900 MB package).
  if chroot "$tmp" bash -c 'cd /tmp && apt-get -o Acquire::Check-Valid-Until=false update -qq && apt-get download -qq nvidia-cuda-dev' \
       >"$CACHE/cuda-headers-$suite.log" 2>&1; then
    mkdir -p "$tmp/opt/cuda-headers"
    dpkg-deb --fsys-tarfile "$tmp"/tmp/nvidia-cuda-dev_*.deb | tar -x -C "$tmp/opt/cuda-headers" --wildcards './usr/include/*'
    rm -f "$tmp"/tmp/nvidia-cuda-dev_*.deb
    # nccl.h (contrib's libnccl-dev), so that the NCCL process group is compiled too.
    if chroot "$tmp" bash -c 'cd /tmp && apt-get download -qq libnccl-dev' >>"$CACHE/cuda-headers-$suite.log" 2>&1; then
      dpkg-deb --fsys-tarfile "$tmp"/tmp/libnccl-dev_*.deb | tar -x -C "$tmp/opt/cuda-headers" --wildcards './usr/include/*'
      rm -f "$tmp"/tmp/libnccl-dev_*.deb
    else
      say "warning: libnccl-dev is not available for $suite; the NCCL process group will not be compiled"
    fi
  else
    say "warning: nvidia-cuda-dev is not available for $suite; the CUDA sources will not be compiled (see $CACHE/cuda-headers-$suite.log)"
  fi
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/archives/*.deb
  chroot "$tmp" dpkg-query -W -f '${Package} ${Version}\n' libtorch-dev g++ cmake libopenblas0-pthread > "$tmp/llmtrain-versions.txt"
  [ -f "$tmp/opt/cuda-headers/usr/include/nccl.h" ] && echo "nccl-headers $(grep -m1 -oE 'NCCL_VERSION_CODE +[0-9]+' "$tmp/opt/cuda-headers/usr/include/nccl.h" | awk '{print $2}')" >> "$tmp/llmtrain-versions.txt"
  [ -d "$tmp/opt/cuda-headers/usr/include" ] && echo "cuda-headers $(grep -m1 -oE 'CUDART_VERSION +[0-9]+' "$tmp/opt/cuda-headers/usr/include/cuda_runtime_api.h" | awk '{print $2}')" >> "$tmp/llmtrain-versions.txt"
  # Older roots of the same recipe family are replaced.
  rm -rf "$target"
  mv "$tmp" "$target"
}

ensure() {
  local r
  if r=$(current_root); then echo "$r"; return 0; fi
  if make_root sid; then root_for sid; return 0; fi
  say "warning: sid's libtorch could not be installed; falling back to trixie (libtorch 2.6)"
  make_root trixie
  root_for trixie
}

MOUNTS=()
unmount_all() {
  local i
  for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
  MOUNTS=()
}

bind() { # bind HOST_DIR inside ROOTFS at the same path
  local rootfs=$1 dir=$2
  mkdir -p "$rootfs$dir"
  mount --bind "$dir" "$rootfs$dir"
  MOUNTS+=("$rootfs$dir")
}

run_inside() {
  local rootfs=$1; shift
  trap unmount_all EXIT INT TERM
  mount -t proc proc "$rootfs/proc"; MOUNTS+=("$rootfs/proc")
  mount --bind /dev "$rootfs/dev"; MOUNTS+=("$rootfs/dev")
  mount -t tmpfs tmpfs "$rootfs/dev/shm" 2>/dev/null && MOUNTS+=("$rootfs/dev/shm") || true
  bind "$rootfs" "$ROOT"
  local dotnet_dir=""
  if command -v dotnet >/dev/null 2>&1; then
    dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
    bind "$rootfs" "$dotnet_dir"
  fi
  [ -d "$HOME/.nuget/packages" ] && bind "$rootfs" "$HOME/.nuget/packages"
  mkdir -p "$rootfs/tmp"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
  local status=0
  chroot "$rootfs" /usr/bin/env -i HOME="$HOME" PATH="${dotnet_dir:+$dotnet_dir:}/usr/local/bin:/usr/bin:/bin" \
    DOTNET_ROOT="$dotnet_dir" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    ${TERM:+TERM=$TERM} LANG=C.UTF-8 ${LLMTRAIN_THREADS:+LLMTRAIN_THREADS=$LLMTRAIN_THREADS} \
    LLMTRAIN_NATIVE="$ROOT/artifacts/native-2x/libllmtorch.so" \
    bash -c "cd '$ROOT' && $*" || status=$?
  unmount_all
  trap - EXIT INT TERM
  return $status
}

case "${1:-}" in
  ensure)
    r=$(ensure)
    say "root: $r"
    cat "$r/llmtrain-versions.txt" >&2
    ;;
  path)
    current_root
    ;;
  build)
    r=$(ensure)
    cuda_opt=""
    [ -d "$r/opt/cuda-headers/usr/include" ] && cuda_opt="-DLLM_CUDA_COMPILE_CHECK=/opt/cuda-headers/usr/include"
    run_inside "$r" "mkdir -p artifacts/native-2x-build artifacts/native-2x &&
      cmake -S src/LlmTrainer.Native -B artifacts/native-2x-build -DCMAKE_BUILD_TYPE=Release $cuda_opt > artifacts/native-2x-build/configure.log 2>&1 ||
        { cat artifacts/native-2x-build/configure.log; exit 1; }
      cmake --build artifacts/native-2x-build -j \$(nproc) > artifacts/native-2x-build/build.log 2>&1 ||
        { grep -E 'error|Error' -A3 artifacts/native-2x-build/build.log | head -60; exit 1; }
      grep -E 'warning' artifacts/native-2x-build/build.log | head -20 || true
      cp artifacts/native-2x-build/libllmtorch.so artifacts/native-2x/libllmtorch.so"
    ;;
  exec)
    shift
    r=$(ensure)
    run_inside "$r" "$*"
    ;;
  *)
    sed -n '2,16p' "$0"; exit 2 ;;
esac
