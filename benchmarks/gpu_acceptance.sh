#!/usr/bin/env bash
# GPU acceptance in one command, for a Linux machine with an NVIDIA GPU and PyTorch 2.x (CUDA) but no .NET and no
# network. Three modes:
#
#   benchmarks/gpu_acceptance.sh --pack DIR
#       Here, in the repository, with the .NET SDK. Fills DIR (at most 60 MiB; the size is printed) with:
#         dotnet-runtime.tar.xz   the .NET runtime (no SDK), unpacked on the target
#         llmtrain/               the CLI, published framework-dependent (Release), without the native shim
#         native/                 the native shim's sources (src/LlmTrainer.Native), built on the target with CMake
#         tests/NAME/             LlmTrainer.Torch.Tests and LlmTrainer.Tests, published, with the xUnit 2.4.1 console
#                                 runner beside them, so the device tests run on the .NET runtime alone
#         configs/  gpu_acceptance.sh  PACK.txt (commit, date, architecture, runtime version)
#       Copy DIR to the GPU machine (e.g. tar czf pack.tgz DIR), then run the next mode there.
#
#   DIR/gpu_acceptance.sh --run DIR [--device cuda|cpu] [--quick] [--clean]
#       On the target (default device cuda). Needs bash, tar, xz, cmake ≥ 3.18 and g++; for cuda, python3 with a CUDA
#       build of PyTorch (LIBTORCH_USE_PYTORCH=1; its libtorch is linked) and, when no CUDA toolkit is installed, the
#       nvidia-*-cu12 wheels' headers that come with PyTorch. Work files go to $GPU_ACCEPTANCE_WORK (default
#       /tmp/llmtrain-gpa-$UID): the unpacked runtime, the shim's build (kept and reused while the sources and the
#       libtorch are the same; --clean rebuilds), logs/ (one per step) and runs/ (about 3 GB for the 110m run's
#       checkpoints on cuda). Steps:
#         1. unpack the runtime; build the shim (LLMTRAIN_NATIVE points at it); check that llmtrain sees the device
#         2. the device-parameterised tests ([Trait("device", "any")]: ops and AdamW against PyTorch's numbers, the
#            model's forward and loss against its fixture, a short training run whose loss falls, KV-cache sampling
#            against recomputation, a checkpoint round trip) with LLMTRAIN_TEST_DEVICE set to the device
#         3. llmtrain bench train --config 500m: tokens/s, MFU, peak memory, and llmtrain plan's peak beside it
#         4. a 300-step 110m bfloat16 run on the built-in stories: the validation loss must fall by at least 1 nat;
#            then a sample from its checkpoint
#         4b. tiny trained data-parallel over every GPU with NCCL (world size 1 on one GPU), 2 Gloo workers on the CPU;
#         5. llmtrain bench sample for 110m and 500m at batch 1 and 8: decoding tokens/s with the KV cache
#         6. a summary table (step, result, number) and the line "gpu acceptance (DEVICE): N passed, N failed";
#            the exit status is non-zero when any step failed.
#       --device cpu walks the same steps with small configs (tiny and 15m, 60 training steps): about 1¼ minutes on
#       2 cores with the shim already built, plus 2–4½ minutes to build it. --quick shortens the steps (100 training
#       steps on cuda, 30 on cpu; fewer timed steps and tokens). On an H100 the cuda run should take 4–7 minutes,
#       1–2 of them building the shim (an estimate: not yet timed on a GPU). The pack runs on the architecture it was
#       made on (x86_64 here).
#
#   benchmarks/gpu_acceptance.sh --selftest
#       Packs into a temporary directory and runs that pack with --run --device cpu, so that the pack and the run
#       mode cannot rot unnoticed. Work files go to artifacts/gpu-acceptance/work (the shim's build is kept there, and
#       the packed runtime in artifacts/gpu-acceptance), so a second selftest takes about 1½ minutes instead of 4–5½.
#       Its last line says "gpu acceptance selftest: passed …" or "… FAILED …"; the exit status says the same.
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
say() { printf '[gpa] %s\n' "$*"; }
die() { printf '[gpa] error: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,/^set -uo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; }

MAX_PACK_BYTES=$((60 * 1024 * 1024))
TEST_PROJECTS=(LlmTrainer.Torch.Tests LlmTrainer.Tests)
RUNNER_VERSION=2.4.1

# ------------------------------------------------------------------------------------------------------------------
# --pack DIR
# ------------------------------------------------------------------------------------------------------------------
pack() {
  local out=$1 root
  root=$(cd "$(dirname "$SELF")/.." && pwd)
  [ -f "$root/LlmTrainer.sln" ] || die "--pack runs in the repository (benchmarks/gpu_acceptance.sh); $root has no LlmTrainer.sln"
  command -v dotnet >/dev/null 2>&1 || die "--pack needs the .NET SDK (dotnet) on PATH"
  dotnet --list-sdks 2>/dev/null | grep -q . || die "--pack needs the .NET SDK; 'dotnet --list-sdks' lists none"
  if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    [ -f "$out/PACK.txt" ] || die "$out exists and is not empty (and is not an earlier pack): give a new or empty directory"
    rm -rf "$out"
  fi
  mkdir -p "$out" || die "cannot create $out"
  out=$(cd "$out" && pwd)
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  local t0=$SECONDS

  # The .NET runtime: the shared framework the app targets, its host and the muxer (cached per runtime version).
  local dotnet_dir fw_ver cache tarball
  dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")")
  fw_ver=$(find "$dotnet_dir/shared/Microsoft.NETCore.App" -mindepth 1 -maxdepth 1 -name '10.*' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
  [ -n "$fw_ver" ] || die "no .NET 10 runtime under $dotnet_dir/shared/Microsoft.NETCore.App"
  cache="$root/artifacts/gpu-acceptance"
  tarball="$cache/dotnet-runtime-$fw_ver-$(uname -m).tar.xz"
  mkdir -p "$cache"
  if [ ! -s "$tarball" ]; then
    say "packing the .NET $fw_ver runtime (xz, about a minute on 2 cores; cached in ${tarball#"$root"/})"
    local extra=()
    for f in LICENSE.txt ThirdPartyNotices.txt; do [ -f "$dotnet_dir/$f" ] && extra+=("$f"); done
    (cd "$dotnet_dir" && tar -cJf "$tarball.tmp" dotnet host "shared/Microsoft.NETCore.App/$fw_ver" "${extra[@]}") \
      && mv "$tarball.tmp" "$tarball" || { rm -f "$tarball.tmp"; die "packing the runtime failed"; }
  fi
  cp "$tarball" "$out/dotnet-runtime.tar.xz"

  # The CLI, framework-dependent; the native shim is built on the target.
  say "publishing llmtrain (Release)"
  local log="$out/.publish.log"
  dotnet publish "$root/src/LlmTrainer.Cli" -c Release -o "$out/llmtrain" -nologo -v quiet > "$log" 2>&1 \
    || { tail -30 "$log" >&2; die "dotnet publish src/LlmTrainer.Cli failed"; }
  rm -f "$out/llmtrain/libllmtorch.so" "$out/llmtrain/llmtrain"
  # The plotting library's native parts come for every platform (about 130 MiB); the pack runs on this one.
  local rid
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid=linux-$(uname -m) ;; esac
  [ -d "$out/llmtrain/runtimes" ] && find "$out/llmtrain/runtimes" -mindepth 1 -maxdepth 1 ! -name "$rid" -exec rm -rf {} +

  # The test projects with the console runner beside them (it must be the application, so that AppContext.BaseDirectory
  # is the tests' directory, where their fixtures are).
  local runner
  runner=$(runner_dir "$root") || die "could not get the xunit.runner.console $RUNNER_VERSION package from NuGet"
  local proj dest
  for proj in "${TEST_PROJECTS[@]}"; do
    say "publishing tests/$proj (Release)"
    dest="$out/tests/$proj"
    dotnet publish "$root/tests/$proj" -c Release -o "$dest" -nologo -v quiet > "$log" 2>&1 \
      || { tail -30 "$log" >&2; die "dotnet publish tests/$proj failed"; }
    prune_test_output "$dest"
    for f in xunit.console.dll xunit.console.deps.json xunit.runner.utility.netcoreapp10.dll xunit.runner.reporters.netcoreapp10.dll; do
      cp "$runner/$f" "$dest/$f"
    done
    [ -f "$dest/xunit.abstractions.dll" ] || cp "$runner/xunit.abstractions.dll" "$dest/"
    # The runner targets netcoreapp2.0: let it run on the packed runtime, without ICU.
    cat > "$dest/xunit.console.runtimeconfig.json" <<'JSON'
{
  "runtimeOptions": {
    "tfm": "netcoreapp2.0",
    "rollForward": "Major",
    "framework": { "name": "Microsoft.NETCore.App", "version": "2.0.0" },
    "configProperties": { "System.Globalization.Invariant": true }
  }
}
JSON
  done
  rm -f "$log"

  # Native sources, configs, this script and what the pack is.
  cp -a "$root/src/LlmTrainer.Native" "$out/native"
  rm -rf "$out/native/build" "$out/native/out"
  cp -a "$root/configs" "$out/configs"
  cp "$SELF" "$out/gpu_acceptance.sh"
  chmod +x "$out/gpu_acceptance.sh"
  local commit
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$root" diff --quiet HEAD -- src tests configs benchmarks 2>/dev/null || commit="$commit+changes"
  {
    echo "llmtrain GPU acceptance pack"
    echo "commit    $commit"
    echo "made      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "arch      $(uname -m)"
    echo "runtime   Microsoft.NETCore.App $fw_ver"
    echo "run       ./gpu_acceptance.sh --run . [--device cuda|cpu] [--quick]"
  } > "$out/PACK.txt"

  local bytes
  bytes=$(du -sb "$out" | cut -f1)
  say "pack: $out, $(mib "$bytes") MiB in $(find "$out" -type f | wc -l) files ($((SECONDS - t0)) s)"
  du -sb "$out"/* | sort -rn | awk '{ printf "[gpa]   %8.1f MiB  %s\n", $1 / 1048576, $2 }'
  [ "$bytes" -le "$MAX_PACK_BYTES" ] || die "the pack is $(mib "$bytes") MiB, over the limit of $(mib "$MAX_PACK_BYTES") MiB"
  echo "$bytes" > "$out/.bytes"
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# The xunit.runner.console package's netcoreapp2.0 runner, restored into the NuGet cache when missing.
runner_dir() {
  local root=$1 pkgs dir tmp
  pkgs=$(dotnet nuget locals global-packages --list 2>/dev/null | sed -E 's/^[^:]*global-packages:[[:space:]]*//' | tail -1)
  pkgs=${pkgs:-$HOME/.nuget/packages}
  dir="${pkgs%/}/xunit.runner.console/$RUNNER_VERSION/tools/netcoreapp2.0"
  if [ ! -f "$dir/xunit.console.dll" ]; then
    tmp=$(mktemp -d)
    cat > "$tmp/runner.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="xunit.runner.console" Version="[$RUNNER_VERSION]" /></ItemGroup>
</Project>
EOF
    dotnet restore "$tmp/runner.csproj" -nologo -v quiet >&2
    rm -rf "$tmp"
  fi
  [ -f "$dir/xunit.console.dll" ] && echo "$dir"
}

# A published test project holds the VSTest host, code coverage and localised resources; the console runner needs
# none of them.
prune_test_output() {
  local d=$1
  (cd "$d" && rm -rf CodeCoverage Microsoft.CodeCoverage.* Microsoft.TestPlatform.* Microsoft.VisualStudio.* testhost.dll testhost.* \
     Mono.Cecil*.dll Newtonsoft.Json.dll Microsoft.DiaSymReader.dll System.Text.Json.dll System.Memory.dll \
     xunit.runner.visualstudio.* ThirdPartyNotices.txt libllmtorch.so bin \
     alpine arm64 macos ubuntu x64 x86 cs de es fr it ja ko pl pt-BR ru tr zh-Hans zh-Hant)
}

# ------------------------------------------------------------------------------------------------------------------
# --run DIR
# ------------------------------------------------------------------------------------------------------------------
STEPS_NAME=() STEPS_RESULT=() STEPS_NUMBER=()
record() {
  STEPS_NAME+=("$1"); STEPS_RESULT+=("$2"); STEPS_NUMBER+=("$3")
  say "$(printf '%-4s %s: %s' "$2" "$1" "$3")"
}

# json_get KEY: the value of "KEY" in the one-line JSON object on stdin (numbers, null, or a string without quotes).
json_get() { grep -o "\"$1\":\(\"[^\"]*\"\|[^,}]*\)" | head -1 | cut -d: -f2- | sed 's/^"//; s/"$//'; }

fmt_int() { awk -v x="$1" 'BEGIN { if (x == "" || x == "null") { print "?"; exit } s = sprintf("%.0f", x); n = length(s); o = "";
  for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }'; }
fmt_pct() { awk -v x="$1" 'BEGIN { if (x == "" || x == "null") print "n/a"; else printf "%.1f%%", x * 100 }'; }

# step LOG CMD...: runs CMD with output in $LOGS/LOG; on failure shows the log's end. Returns CMD's status.
step() {
  local log="$LOGS/$1"; shift
  local t=$SECONDS rc
  "$@" > "$log" 2>&1
  rc=$?
  STEP_SECONDS=$((SECONDS - t))
  if [ $rc -ne 0 ]; then
    say "  failed (exit $rc) after ${STEP_SECONDS} s; the end of $log:"
    tail -25 "$log" | sed 's/^/[gpa]   | /'
  fi
  return $rc
}

llmtrain() { "$DOTNET" "$PACK/llmtrain/llmtrain.dll" "$@"; }

run() {
  PACK=$(cd "$1" 2>/dev/null && pwd) || die "no pack at $1"
  local device=$2 quick=$3 clean=$4
  [ -f "$PACK/PACK.txt" ] || die "$PACK is not a pack (no PACK.txt); make one with --pack"
  local arch
  arch=$(awk '$1 == "arch" { print $2 }' "$PACK/PACK.txt")
  [ "$arch" = "$(uname -m)" ] || die "the pack was made for $arch, this machine is $(uname -m)"
  case "$device" in cpu|cuda|cuda:[0-9]*) ;; *) die "--device must be cpu, cuda or cuda:N; got '$device'" ;; esac
  local missing=()
  for tool in tar xz cmake g++ make; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || die "missing on this machine: ${missing[*]} (cmake ≥ 3.18, g++ and make build the native shim)"

  WORK=${GPU_ACCEPTANCE_WORK:-${TMPDIR:-/tmp}/llmtrain-gpa-$(id -u)}
  mkdir -p "$WORK" || die "cannot create $WORK"
  WORK=$(cd "$WORK" && pwd)
  # One run at a time per work directory (they share the runtime, the build and the logs).
  if command -v flock >/dev/null 2>&1; then
    exec 9> "$WORK/.lock"
    flock -n 9 || die "another run is using $WORK; wait for it, or set GPU_ACCEPTANCE_WORK to another directory"
  fi
  LOGS="$WORK/logs"
  rm -rf "$LOGS" "$WORK/runs"
  mkdir -p "$LOGS" "$WORK/runs"
  cd "$WORK" || die "cannot enter $WORK"
  # Config overrides from this shell (LLMTRAIN_max_iters=…) would change what is measured.
  local v
  for v in $(compgen -e | grep '^LLMTRAIN_' || true); do
    case "$v" in LLMTRAIN_THREADS|LLMTRAIN_CPU_CACHE) ;; *) unset "$v" ;; esac
  done
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_ROLL_FORWARD=Major
  local t_start=$SECONDS
  say "pack $PACK ($(awk '$1 == "commit" { print $2 }' "$PACK/PACK.txt")), device $device$([ "$quick" = 1 ] && echo ", quick"), work files in $WORK"

  # ---- 1. runtime, native shim, device ----
  rm -rf "$WORK/dotnet" && mkdir -p "$WORK/dotnet"
  if step 01-runtime.log tar -xJf "$PACK/dotnet-runtime.tar.xz" -C "$WORK/dotnet" && step 01-runtime.log "$WORK/dotnet/dotnet" --list-runtimes; then
    DOTNET="$WORK/dotnet/dotnet"
    export DOTNET_ROOT="$WORK/dotnet"
    record "runtime" PASS "$(grep -o 'Microsoft.NETCore.App [0-9.]*' "$LOGS/01-runtime.log" | head -1)"
  else
    record "runtime" FAIL "the .NET runtime did not unpack or start (see $LOGS/01-runtime.log)"
    summary "$device" "$t_start"; return 1
  fi

  if ! build_native "$device" "$clean"; then
    summary "$device" "$t_start"; return 1
  fi
  export LLMTRAIN_NATIVE="$NATIVE_LIB"

  if ! step 03-info.log llmtrain info; then
    record "llmtrain info" FAIL "llmtrain did not start with the shim (see $LOGS/03-info.log)"
    summary "$device" "$t_start"; return 1
  fi
  local torch_ver gpu
  torch_ver=$(awk '$1 == "libtorch" { print $2; exit }' "$LOGS/03-info.log")
  if [ "$device" = cpu ]; then
    record "llmtrain info" PASS "libtorch $torch_ver, $(awk '$1 == "threads" { print $2; exit }' "$LOGS/03-info.log") threads"
  else
    local idx=${device#cuda}; idx=${idx#:}; idx=${idx:-0}
    gpu=$(grep -E "^cuda:$idx " "$LOGS/03-info.log" | sed -E "s/^cuda:$idx +//")
    if ! grep -q '^built with CUDA: yes' "$LOGS/03-info.log"; then
      if [[ "$NATIVE_NOTE" == *"no CUDA headers"* ]]; then
        record "llmtrain info" FAIL "libtorch $torch_ver has CUDA but the build found no cuda_runtime_api.h: set CUDA_HOME to a CUDA toolkit and run again with --clean"
      else
        record "llmtrain info" FAIL "libtorch $torch_ver has no CUDA (a CPU build of PyTorch, or python3 is not the one with PyTorch); see $LOGS/02-native.log"
      fi
      summary "$device" "$t_start"; return 1
    elif [ -z "$gpu" ] || [[ "$gpu" == ,* ]]; then
      record "llmtrain info" FAIL "libtorch $torch_ver has CUDA but sees no device $device (driver?); see $LOGS/03-info.log"
      summary "$device" "$t_start"; return 1
    fi
    record "llmtrain info" PASS "libtorch $torch_ver, $gpu"
  fi

  # Sizes: (cuda | cpu) × (full | quick).
  local bench_cfg train_cfg sample_cfgs bench_args train_args sample_tokens iters plan_args=()
  if [ "$device" = cpu ]; then
    bench_cfg=tiny; train_cfg=tiny; sample_cfgs=(tiny 15m)
    if [ "$quick" = 1 ]; then iters=30; bench_args=(--steps 3 --warmup 1); sample_tokens=32
    else iters=60; bench_args=(--steps 5 --warmup 2); sample_tokens=64; fi
    train_args=(--max_iters "$iters" --eval_interval $((iters / 2)) --eval_iters 8 --log_interval 10)
  else
    bench_cfg=500m; train_cfg=110m; sample_cfgs=(110m 500m)
    if [ "$quick" = 1 ]; then iters=100; bench_args=(--steps 5 --warmup 2); sample_tokens=128
    else iters=300; bench_args=(--steps 10 --warmup 3); sample_tokens=256; fi
    # 500m at its config's batch of 16 × 1024 tokens, one micro-batch per step (about 30 GB with bf16 autocast).
    bench_args+=(--grad_accum_steps 1)
    plan_args=(--grad_accum_steps 1)
    # Evaluations at the start, half way and the end; a 110m checkpoint with its optimizer state is 1.3 GB, so only the
    # best (at each evaluation that improves) and the final one are written.
    train_args=(--max_iters "$iters" --dtype bfloat16 --grad_accum_steps 1 --learning_rate 6e-4 --min_lr 6e-5 --warmup_iters 30
                --eval_interval $((iters / 2)) --eval_iters 20 --log_interval 25)
  fi
  train_args+=(--lr_decay_iters "$iters" --checkpoint_interval "$iters")

  # ---- 2. device tests ----
  local proj dir line total failed errors skipped passed
  for proj in "${TEST_PROJECTS[@]}"; do
    dir="$PACK/tests/$proj"
    step "04-tests-$proj.log" env LLMTRAIN_TEST_DEVICE="$device" "$DOTNET" "$dir/xunit.console.dll" "$dir/$proj.dll" \
      -trait "device=any" -parallel none -nologo -nocolor -noautoreporters -verbose
    line=$(grep -E "^\s*$proj\s+Total:" "$LOGS/04-tests-$proj.log" | tail -1)
    if [ -z "$line" ]; then
      record "tests $proj" FAIL "the runner did not report (see $LOGS/04-tests-$proj.log)"
      continue
    fi
    total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<< "$line"); failed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<< "$line")
    errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<< "$line"); skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<< "$line")
    passed=$((total - failed - skipped))
    if [ "$failed" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$total" -gt 0 ]; then
      record "tests $proj" PASS "$passed passed on $device (${STEP_SECONDS} s)"
    else
      grep -E '\[FAIL\]' "$LOGS/04-tests-$proj.log" | head -10 | sed 's/^/[gpa]   /'
      record "tests $proj" FAIL "$passed passed, $failed failed, $errors errors on $device (see $LOGS/04-tests-$proj.log)"
    fi
  done

  # ---- 3. training throughput ----
  local json
  if step 05-bench-train.log llmtrain bench train --config "$bench_cfg" --device "$device" "${bench_args[@]}" --json; then
    json=$(grep '^{' "$LOGS/05-bench-train.log" | tail -1)
    local tps mfu peak tflops
    tps=$(json_get tokens_per_sec <<< "$json"); mfu=$(json_get mfu <<< "$json"); peak=$(json_get peak_memory_mb <<< "$json")
    tflops=$(json_get tflops <<< "$json")
    # The planner's peak for the same step (llmtrain plan), beside the measured one.
    local planned versus=""
    planned=$(llmtrain plan --config "$bench_cfg" --device "$device" "${plan_args[@]}" --json 2>> "$LOGS/05-bench-train.log" \
      | grep -o '"peak_bytes": *[0-9]*' | grep -o '[0-9]*$')
    if [ -n "$planned" ] && [ -n "$peak" ] && [ "$peak" != null ]; then
      versus=$(awk -v p="$planned" -v m="$peak" 'BEGIN { printf " (planned %.0f MiB, %+.1f%%)", p / 1048576, (p / 1048576 / m - 1) * 100 }')
      say "  planned peak $(fmt_int "$(awk -v p="$planned" 'BEGIN { print p / 1048576 }')") MiB, measured $(fmt_int "$peak") MiB"
    fi
    if [ -n "$tps" ] && [ "$tps" != null ]; then
      record "bench train $bench_cfg" PASS "$(fmt_int "$tps") tok/s, $(awk -v x="$tflops" 'BEGIN { printf (x < 10 ? "%.3g" : "%.0f"), x }') TFLOP/s, MFU $(fmt_pct "$mfu")$([ "$peak" != null ] && [ -n "$peak" ] && echo ", peak $(fmt_int "$peak") MiB$versus")"
    else
      record "bench train $bench_cfg" FAIL "no tokens/s in the output (see $LOGS/05-bench-train.log)"
    fi
  else
    record "bench train $bench_cfg" FAIL "exit status non-zero (see $LOGS/05-bench-train.log)"
  fi

  # ---- 4. a short training run on the built-in stories ----
  local run_dir="$WORK/runs/$train_cfg" precision=bf16
  [ "$device" = cpu ] && precision=float32
  local name="train $train_cfg ($iters steps, $precision)"
  if step 06-train.log llmtrain train --config "$train_cfg" --data builtin --device "$device" --out_dir "$run_dir" "${train_args[@]}"; then
    local first last ttps tmfu
    first=$(grep '"event":"eval"' "$run_dir/metrics.jsonl" | head -1 | json_get val_loss)
    last=$(grep '"event":"eval"' "$run_dir/metrics.jsonl" | tail -1 | json_get val_loss)
    ttps=$(grep '"event":"train"' "$run_dir/metrics.jsonl" | tail -1 | json_get tokens_per_sec)
    tmfu=$(grep '"event":"train"' "$run_dir/metrics.jsonl" | tail -1 | json_get mfu)
    local numbers
    numbers="val loss $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f → %.3f", a, b }'), $(fmt_int "$ttps") tok/s$([ -n "$tmfu" ] && echo ", MFU $(fmt_pct "$tmfu")"), ${STEP_SECONDS} s"
    if [ -n "$first" ] && [ -n "$last" ] && awk -v a="$first" -v b="$last" 'BEGIN { exit !(b == b && b < a - 1.0) }'; then
      record "$name" PASS "$numbers"
    else
      record "$name" FAIL "$numbers: the loss did not fall by 1 nat (see $LOGS/06-train.log)"
    fi
    if step 07-sample-trained.log llmtrain sample --checkpoint "$run_dir" --device "$device" --prompt "Once upon a time" \
         --max-new-tokens 48 --seed 1 --json; then
      json=$(grep '^{' "$LOGS/07-sample-trained.log" | tail -1)
      local text
      text=$(sed -E 's/.*"samples":\["(([^"\\]|\\.)*)".*/\1/; s/\\n/ /g; s/\\"/"/g; s/\\u[0-9A-Fa-f]{4}/?/g' <<< "$json" | cut -c1-40)
      record "sample the trained $train_cfg" PASS "$(fmt_int "$(json_get tokens_per_sec <<< "$json")") tok/s: Once upon a time${text}…"
    else
      record "sample the trained $train_cfg" FAIL "see $LOGS/07-sample-trained.log"
    fi
  else
    record "$name" FAIL "exit status non-zero (see $LOGS/06-train.log)"
  fi

  # ---- 4b. data-parallel training: NCCL across the GPUs (world size 1 on a single GPU), Gloo with 2 workers on the CPU ----
  local workers=2 dp_dir="$WORK/runs/ddp-tiny"
  if [ "$device" != cpu ]; then
    workers=$(llmtrain info 2>/dev/null | grep -c '^cuda:' || true)
    [ "$workers" -ge 1 ] || workers=1
    [ "$workers" -le 8 ] || workers=8
  fi
  rm -rf "$dp_dir"
  if step 06b-ddp.log llmtrain train --config tiny --data builtin --device "$device" --out_dir "$dp_dir" --nproc-per-node "$workers" \
       --max_iters 40 --eval_interval 20 --eval_iters 4 --log_interval 20 --warmup_iters 5 --lr_decay_iters 40; then
    local dp_line dp_first dp_last
    dp_line=$(grep -E '^step 40/40' "$LOGS/06b-ddp.log" | tail -1)
    dp_first=$(grep '"event":"eval"' "$dp_dir/metrics.jsonl" | head -1 | json_get val_loss)
    dp_last=$(grep '"event":"eval"' "$dp_dir/metrics.jsonl" | tail -1 | json_get val_loss)
    if [ -n "$dp_first" ] && [ -n "$dp_last" ] && awk -v a="$dp_first" -v b="$dp_last" 'BEGIN { exit !(b == b && b < a - 1.0) }'; then
      record "train tiny data-parallel ($workers workers, $(grep -oE '\((--nproc-per-node|torchrun), [a-z]+\)' "$LOGS/06b-ddp.log" | head -1 | sed -E 's/.*, ([a-z]+)\)/\1/'))" PASS \
        "val loss $(awk -v a="$dp_first" -v b="$dp_last" 'BEGIN { printf "%.3f → %.3f", a, b }'), $(sed -E 's/.*\| ([0-9,]+ tok\/s).*/\1/' <<< "$dp_line"), all-reduce $(grep -oE 'all-reduce [0-9.]+ ms in flight, [0-9.]+ ms exposed' <<< "$dp_line" | sed -E 's/all-reduce //')"
    else
      record "train tiny data-parallel ($workers workers)" FAIL "the loss did not fall by 1 nat (see $LOGS/06b-ddp.log)"
    fi
  else
    record "train tiny data-parallel ($workers workers)" FAIL "exit status non-zero (see $LOGS/06b-ddp.log)"
  fi

  # ---- 5. decoding throughput ----
  local cfg batch cached uncached speedup
  for cfg in "${sample_cfgs[@]}"; do
    for batch in 1 8; do
      if step "08-sample-$cfg-$batch.log" llmtrain bench sample --config "$cfg" --device "$device" --batch "$batch" --tokens "$sample_tokens" --json; then
        json=$(grep '^{' "$LOGS/08-sample-$cfg-$batch.log" | tail -1)
        cached=$(json_get cached_tokens_per_sec <<< "$json"); uncached=$(json_get uncached_tokens_per_sec <<< "$json")
        speedup=$(json_get speedup <<< "$json")
        record "bench sample $cfg batch $batch" PASS "$(fmt_int "$cached") tok/s with the KV cache ($(fmt_int "$uncached") without, ${speedup}x)"
      else
        record "bench sample $cfg batch $batch" FAIL "see $LOGS/08-sample-$cfg-$batch.log"
      fi
    done
  done

  summary "$device" "$t_start"
}

# build_native DEVICE CLEAN: builds the shim with CMake into $WORK; sets NATIVE_LIB.
build_native() {
  local device=$1 clean=$2 flavor=system fingerprint args=() env_args=() cxxflags=""
  args=(-DCMAKE_BUILD_TYPE=Release)
  [ -n "${Torch_DIR:-}" ] && args+=(-DTorch_DIR="$Torch_DIR")
  if [ "$device" != cpu ] && command -v python3 >/dev/null 2>&1 && python3 -c "import torch" >/dev/null 2>&1; then
    flavor=pytorch
    env_args=(LIBTORCH_USE_PYTORCH=1)
    # The CUDA runtime headers: a CUDA toolkit, else the headers of the nvidia-*-cu12 wheels PyTorch depends on.
    local cuda_inc="" d
    for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda; do
      [ -n "$d" ] && [ -f "$d/include/cuda_runtime_api.h" ] && { cuda_inc="$d/include"; break; }
    done
    if [ -z "$cuda_inc" ]; then
      local wheel_incs
      wheel_incs=$(python3 - <<'PY' 2>/dev/null
import os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
for root in list(nvidia.__path__):
    for name in sorted(os.listdir(root)):
        inc = os.path.join(root, name, "include")
        if os.path.isdir(inc):
            print(inc)
PY
)
      for d in $wheel_incs; do
        cxxflags+=" -isystem $d"
        [ -z "$cuda_inc" ] && [ -f "$d/cuda_runtime_api.h" ] && cuda_inc=$d
      done
    fi
    [ -n "$cuda_inc" ] && args+=(-DCUDA_INCLUDE_DIRS="$cuda_inc")
    [ -n "$cxxflags" ] && args+=(-DCMAKE_CXX_FLAGS="${cxxflags# }")
    fingerprint="pytorch $(python3 -c 'import torch; print(torch.__version__, torch.__file__)' 2>/dev/null) $cuda_inc"
  else
    [ "$device" != cpu ] && say "python3 cannot import torch: building against the libtorch CMake finds (Torch_DIR, LIBTORCH or the system's)"
    fingerprint="system ${Torch_DIR:-} ${LIBTORCH:-} $(dpkg-query -W -f '${Version}' libtorch-dev 2>/dev/null)"
  fi
  # Any change of libtorch, CMake arguments or sources builds afresh (a pack's file times may be older than the objects).
  fingerprint="$fingerprint | ${args[*]} | $(cd "$PACK/native" && find . -type f -print0 | sort -z | xargs -0 cat | cksum)"

  # Sources are copied with their times, so an unchanged pack rebuilds nothing.
  local src="$WORK/native-src-$flavor" build="$WORK/native-build-$flavor"
  if [ "$clean" = 1 ] || [ "$(cat "$build/.fingerprint" 2>/dev/null)" != "$fingerprint" ] || ! diff -rq "$PACK/native" "$src" >/dev/null 2>&1; then
    rm -rf "$build" "$src" && cp -a "$PACK/native" "$src"
  fi
  mkdir -p "$build"
  local log="$LOGS/02-native.log" t=$SECONDS
  : > "$log"
  configure() { env "${env_args[@]}" cmake -S "$src" -B "$build" "${args[@]}" >> "$log" 2>&1; }
  if [ ! -f "$build/CMakeCache.txt" ]; then
    say "configuring the native shim ($flavor libtorch)"
    if ! configure; then
      if [ "$flavor" = pytorch ]; then
        # PyTorch's CMake config wants a CUDA toolkit; without one, link its libraries explicitly (CMakeLists.txt's fallback).
        say "  CMake's find_package(Torch) failed; linking PyTorch's libraries explicitly"
        rm -rf "$build" && mkdir -p "$build"
        args+=(-DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON)
        configure || { tail -30 "$log" | sed 's/^/[gpa]   | /'; record "native shim" FAIL "cmake configure failed (see $log)"; return 1; }
      else
        tail -30 "$log" | sed 's/^/[gpa]   | /'
        record "native shim" FAIL "cmake configure failed: no libtorch (set LIBTORCH or Torch_DIR; see $log)"; return 1
      fi
    fi
    grep -oE 'llmtorch: (using PyTorch.s libtorch at [^ ]+|libtorch [0-9.]+|CUDA support ON|find_package\(Torch\) failed|libtorch has CUDA but cuda_runtime_api.h was not found)' "$log" \
      | sed 's/llmtorch: //; s/find_package(Torch) failed/linked explicitly/; s/libtorch has CUDA but cuda_runtime_api.h was not found/no CUDA headers/' \
      | sort -u | paste -sd ';' | sed 's/;/; /g' > "$build/.configured"
  fi
  say "building the native shim (a few minutes the first time)"
  if ! cmake --build "$build" -j "$(nproc)" >> "$log" 2>&1; then
    grep -E 'error|Error' "$log" | head -20 | sed 's/^/[gpa]   | /'
    record "native shim" FAIL "the build failed (see $log)"
    return 1
  fi
  echo "$fingerprint" > "$build/.fingerprint"
  NATIVE_LIB="$build/libllmtorch.so"
  local what
  what=$(cat "$build/.configured" 2>/dev/null)
  NATIVE_NOTE=$what
  record "native shim" PASS "$flavor libtorch${what:+ ($what)}, $((SECONDS - t)) s"
}

summary() {
  local device=$1 t_start=$2 i passed=0 failed=0
  echo
  printf '%-36s %-6s %s\n' "step" "result" "number"
  printf '%-36s %-6s %s\n' "------------------------------------" "------" "------------------------------------------"
  for i in "${!STEPS_NAME[@]}"; do
    printf '%-36s %-6s %s\n' "${STEPS_NAME[$i]}" "${STEPS_RESULT[$i]}" "${STEPS_NUMBER[$i]}"
    if [ "${STEPS_RESULT[$i]}" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  echo
  say "logs in $LOGS; $((SECONDS - t_start)) s in all"
  echo "gpu acceptance ($device): $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# ------------------------------------------------------------------------------------------------------------------
# --selftest
# ------------------------------------------------------------------------------------------------------------------
selftest() {
  local t0=$SECONDS tmp rc bytes="" last root
  root=$(cd "$(dirname "$SELF")/.." && pwd)
  # Work files per checkout (the shim's build is kept there between selftests), so that checkouts do not collide.
  export GPU_ACCEPTANCE_WORK=${GPU_ACCEPTANCE_WORK:-$root/artifacts/gpu-acceptance/work}
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmtrain-gpa-selftest.XXXXXX")
  local log="$tmp/run.log"
  if ( pack "$tmp/pack" ); then
    bytes=$(cat "$tmp/pack/.bytes" 2>/dev/null)
    bash "$tmp/pack/gpu_acceptance.sh" --run "$tmp/pack" --device cpu 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -E '^gpu acceptance \(cpu\):' "$log" | tail -1 | sed 's/^gpu acceptance (cpu): //')
  else
    rc=1; last="the pack failed"
  fi
  rm -rf "$tmp"
  local size=""
  [ -n "$bytes" ] && size="pack $(mib "$bytes") MiB, "
  if [ "$rc" -eq 0 ]; then
    echo "gpu acceptance selftest: passed (${size}run --device cpu: ${last:-?}) in $((SECONDS - t0)) s"
    return 0
  fi
  echo "gpu acceptance selftest: FAILED (${size}${last:-run --device cpu failed}) in $((SECONDS - t0)) s"
  return 1
}

# ------------------------------------------------------------------------------------------------------------------
mode="" dir="" device=cuda quick=0 clean=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pack|--run) mode=${1#--}; [ $# -ge 2 ] || die "$1 needs a directory"; dir=$2; shift 2 ;;
    --selftest) mode=selftest; shift ;;
    --device) [ $# -ge 2 ] || die "--device needs cuda, cuda:N or cpu"; device=$2; shift 2 ;;
    --device=*) device=${1#--device=}; shift ;;
    --quick) quick=1; shift ;;
    --clean) clean=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
case "$mode" in
  pack) pack "$dir" ;;
  run) run "$dir" "$device" "$quick" "$clean" ;;
  selftest) selftest ;;
  *) usage; exit 2 ;;
esac
