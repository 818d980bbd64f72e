#!/usr/bin/env bash
# One-command setup on Debian 12 / Ubuntu: installs what is missing, builds the native shim and the
# solution (Release), and puts an `llmtrain` launcher on PATH. Safe to run again: it only redoes what changed.
#
# libtorch is found in this order: Torch_DIR, LIBTORCH (an unpacked libtorch), LIBTORCH_USE_PYTORCH=1
# (the libtorch inside an installed PyTorch, e.g. with CUDA), the system install (Debian's libtorch-dev).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# ---- system packages ----
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# The export tests run a C reader (gcc) and an independent GGUF parser (Node.js and npm).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# Plots draw their text with the system's fonts; without any they have none.
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
if [ -z "${Torch_DIR:-}" ] && [ -z "${LIBTORCH:-}" ] && [ "${LIBTORCH_USE_PYTORCH:-0}" != "1" ]; then
  dpkg -s libtorch-dev >/dev/null 2>&1 || missing+=(libtorch-dev)
  # Without OpenBLAS, Debian's libtorch falls back to reference BLAS (about 30x slower matmuls).
  dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
  # Gloo's headers, for distributed training on the CPU (libtorch links Gloo but does not ship its headers).
  dpkg -s libgloo-dev >/dev/null 2>&1 || missing+=(libgloo-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    echo "[setup] error: missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "[setup] error: the .NET 10 SDK (dotnet) is not on PATH; install it, then run scripts/setup.sh again" >&2
  exit 1
fi

# ---- native shim ----
BUILD="$ROOT/artifacts/native-build"
mkdir -p "$BUILD" "$ROOT/artifacts/native"
cmake_args=(-S "$ROOT/src/LlmTrainer.Native" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release)
[ -n "${Torch_DIR:-}" ] && cmake_args+=(-DTorch_DIR="$Torch_DIR")
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring the native shim (cmake)"
  cmake "${cmake_args[@]}" > "$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log" >&2; exit 1; }
fi
say "building the native shim (first build takes a few minutes)"
cmake --build "$BUILD" -j "$(nproc)" > "$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log" >&2; exit 1; }
cp -u "$BUILD/libllmtorch.so" "$ROOT/artifacts/native/libllmtorch.so"
say "native shim: artifacts/native/libllmtorch.so"

# ---- .NET build and the llmtrain launcher ----
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
APP="$ROOT/artifacts/llmtrain"
stamp="$APP/llmtrain.dll"
if [ ! -f "$stamp" ] || [ -n "$(find src configs Directory.Build.props -newer "$stamp" -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' -o -name '*.props' \) -print -quit 2>/dev/null)" ] \
   || [ "$ROOT/artifacts/native/libllmtorch.so" -nt "$stamp" ]; then
  say "building llmtrain (dotnet, Release)"
  dotnet build "$ROOT/LlmTrainer.sln" -c Release -v quiet -nologo 2>&1 | grep -E "error|warn" >&2 && exit 1 || true
  dotnet publish "$ROOT/src/LlmTrainer.Cli" -c Release -o "$APP" -v quiet -nologo >/dev/null
  cp "$ROOT/artifacts/native/libllmtorch.so" "$APP/"
  touch "$stamp"
fi

# ---- the independent GGUF parser the export tests compare with (npm registry) ----
GGUF_JS="$ROOT/artifacts/node-gguf"
if [ ! -f "$GGUF_JS/node_modules/@huggingface/gguf/package.json" ]; then
  say "installing @huggingface/gguf (npm) for the GGUF export tests"
  mkdir -p "$GGUF_JS"
  npm install --prefix "$GGUF_JS" --no-audit --no-fund --no-save @huggingface/gguf@0.4.6 >/dev/null 2>&1 \
    || say "warning: npm install @huggingface/gguf failed; the GGUF parser tests install it again and fail if they cannot"
fi

BIN_DIR=/usr/local/bin
if [ ! -w "$BIN_DIR" ]; then BIN_DIR="$HOME/.local/bin"; mkdir -p "$BIN_DIR"; fi
cat > "$BIN_DIR/llmtrain.tmp" <<LAUNCHER
#!/usr/bin/env bash
exec dotnet "$APP/llmtrain.dll" "\$@"
LAUNCHER
chmod +x "$BIN_DIR/llmtrain.tmp" && mv "$BIN_DIR/llmtrain.tmp" "$BIN_DIR/llmtrain"
say "llmtrain launcher: $BIN_DIR/llmtrain"
case ":$PATH:" in *":$BIN_DIR:"*) ;; *) say "note: $BIN_DIR is not on your PATH; add it, or run $BIN_DIR/llmtrain" ;; esac
"$BIN_DIR/llmtrain" info --brief || { echo "[setup] error: llmtrain was built but does not start; see the message above" >&2; exit 1; }
