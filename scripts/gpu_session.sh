#!/usr/bin/env bash
# What a lent-GPU session runs (the project's device tool: one H100 or H200, 16 cores, no network, ~15 minutes of
# device time in all, at most 10 minutes a call), in one call, so that its start-up is paid once. Two modes:
#
# scripts/gpu_session.sh paper-curve   (issue 31: the paper preset's training curve on MUSDB18-7)
#   experiments/paper_curve/curve.py --device cuda: trains the `paper` preset as it is on the 20,480 Hz copy of
#   MUSDB18-7 (carried as FLAC in .gpu/musdb18-7-20k-flac, unpacked to /tmp) for as long as PAPER_COMMAND_S allows
#   (default 540 s for the whole command, set-up included), scoring the current g on the 7 selection songs every
#   PAPER_EVERY steps (default 1000): museval v4 SDR/SIR/SAR and the vocal energy fraction of the raw mask, and the
#   preset's own separation. Results land in $OUT, at most 8 files, each ≤ 16 MiB, as the tool brings back:
#     paper-seed0-<h100|h200>.jsonl          one line per point, written as it comes (a killed run keeps them)
#     paper-seed0-<h100|h200>.summary.json   device, steps/s, steps reached, why it stopped, config, sizes
#     curve.png, table.md                    the curve and its table (written again here if the run was killed)
#     paper-curve.log                        everything printed
#     paper-seed0-<...>.g-fp16.pt.000, .001  g's final weights, fp16, in parts (`cat` them: a model file load_g
#                                            reads); the full training state (d_A, d_C, Adam: ~330 MB) stays behind
#   Afterwards, here: copy all but the g parts into experiments/paper_curve/results/ and run
#   `python experiments/paper_curve/curve.py --report` (plot, table, README section); see its README.
#   Device call: carry [".whl", ".gpu/musdb18-7-20k-flac"], command `scripts/gpu_session.sh paper-curve`,
#   timeout_s 600. Prepare both first with `make gpu-prep` (scripts/gpu_prep.sh; idempotent, checks the 64 MiB).
#
# scripts/gpu_session.sh [study]   (the default: what the first lent session ran, issue 13/14)
#   1. benchmarks/bench_gpu.py --parts throughput: paper and cpu preset training steps/s, alone on the GPU;
#   2. recipe-study runs (experiments/recipe/study.py --device cuda), one process per recipe x seed, all at once,
#      on the compact MUSDB18-7 copy made by experiments/recipe/compact_data.py (carried in .gpu/musdb18-7-16k,
#      GPU_PREP_STUDY=1 make gpu-prep), each stopping cleanly after the point that crosses STUDY_MINUTES;
#   3. meanwhile, benchmarks/bench_gpu.py --parts check: one row of `reproduce --profile paper` and NES on the GPU,
#      every stage's device recorded.
#   Results land in $OUT (gpu-throughput.json, gpu-check.json, study.tar.gz with the curves and logs, and with
#   KEEP_CHECKPOINTS=1 each run's checkpoint.pt, so that a CPU can resume it exactly). PARTS selects the parts.
#
# Both need the wheels of museval and what it imports in .whl/ (the image has torch). Knobs for a CPU try-out of
# the same path (experiments/paper_curve/README.md): PY (the interpreter, default python3), WHEELS (default .whl),
# DEVICE (default cuda), PAPER_ARGS (extra arguments of curve.py, e.g. "--shrink --max-steps 10").
set -u
cd "$(dirname "$0")/.."
MODE=${1:-study}
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
PY=${PY:-python3}
WHEELS=${WHEELS:-.whl}
DEVICE=${DEVICE:-cuda}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 SEMISEP_CACHE=/tmp/semisep-cache MPLBACKEND=Agg PIP_ROOT_USER_ACTION=ignore
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
case "$MODE" in study|paper-curve) ;; *) echo "usage: $0 [study|paper-curve]"; exit 2;; esac

# -- set-up: wheels into /tmp/site, ffmpeg stand-ins, the GPU, the imports ------------------------------------------
export PYTHONPATH=$PWD
if [ -d "$WHEELS" ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || { echo "wheel install failed"; exit 1; }
fi
# stempeg (imported by museval through musdb) refuses to import without ffmpeg on PATH; the compact WAV copy
# needs no decoding, so a stand-in that only answers the version check will do here
mkdir -p /tmp/fakebin
for c in ffmpeg ffprobe; do printf '#!/bin/sh\necho "%s version 6.0"\n' "$c" > /tmp/fakebin/$c; chmod +x /tmp/fakebin/$c; done
export PATH=$PATH:/tmp/fakebin
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch, museval, soundfile, semisep_lib; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
  || exit 1
stamp "set-up done"

# -- paper-curve ----------------------------------------------------------------------------------------------------
if [ "$MODE" = paper-curve ]; then
  PAPER_COMMAND_S=${PAPER_COMMAND_S:-540}
  PAPER_EVERY=${PAPER_EVERY:-1000}
  PAPER_DATA=${PAPER_DATA:-.gpu/musdb18-7-20k-flac}
  LOG="$OUT/paper-curve.log"
  { stamp "paper-curve: unpacking $PAPER_DATA"
    $PY experiments/paper_curve/flac.py unpack "$PAPER_DATA" /tmp/musdb18-7-20k || exit 1
    budget=$(( PAPER_COMMAND_S - ($(date +%s) - t0) - 25 ))  # 25 s kept for the report and the listing below
    stamp "curve.py, budget $budget s"
    # curve.py stops itself inside its budget; the timeout is the backstop, and what it wrote so far is kept
    timeout -k 10 $(( budget + 20 )) $PY experiments/paper_curve/curve.py --root /tmp/musdb18-7-20k --device "$DEVICE" \
      --budget-s "$budget" --every "$PAPER_EVERY" --results "$OUT" --run /tmp/paper-curve/run --keep-g "$OUT" \
      ${PAPER_ARGS:-}
    rc=$?
    stamp "curve.py rc=$rc"
    if [ $rc -ne 0 ] && ls "$OUT"/*.jsonl > /dev/null 2>&1; then  # killed or failed: the plot and table anyway
      $PY experiments/paper_curve/curve.py --report --results "$OUT" > /dev/null && stamp "report written from the points"
    fi
    exit $rc
  } 2>&1 | tee "$LOG"
  rc=${PIPESTATUS[0]}
  ls -l "$OUT"
  n=$(find "$OUT" -type f | wc -l)
  [ "$n" -le 8 ] || echo "WARNING: $n files in \$OUT, the tool brings back 8"
  stamp "end"
  exit "$rc"
fi

# -- study (the default) ------------------------------------------------------------------------------------------
STUDY_MINUTES=${STUDY_MINUTES:-5}
STUDY_KILL_S=${STUDY_KILL_S:-420}
PARTS=${PARTS:-"throughput study check"}
has() { case " $PARTS " in *" $1 "*) return 0;; esac; return 1; }
RUNS=${RUNS:-"level-ema:0 level-ema:1 level-ema-gan1:0 level-ema-gan1:1 level-ema-slow-d:0 level-ema-slow-d:1
wide-level-ema:0 wide-level-ema:1 level:1 level-ema-decay:1 authors:0 authors:1"}

has throughput && { stamp "throughput"
timeout 240 $PY benchmarks/bench_gpu.py --parts throughput --steps 300 --json "$OUT/gpu-throughput.json" \
  > "$OUT/gpu-throughput.log" 2>&1; stamp "throughput rc=$?"; tail -3 "$OUT/gpu-throughput.log"; }

mkdir -p /tmp/study/results /tmp/study/logs
has study && stamp "study: $(echo $RUNS | wc -w) runs" && for rs in $RUNS; do
  r=${rs%%:*}; s=${rs##*:}
  timeout "$STUDY_KILL_S" $PY experiments/recipe/study.py --device "$DEVICE" --root .gpu/musdb18-7-16k --only "$r" \
    --seeds "$s" --results /tmp/study/results --runs /tmp/study/runs --threads 1 --minutes "$STUDY_MINUTES" \
    > "/tmp/study/logs/$r-seed$s.log" 2>&1 &
done

has check && { stamp "paper check"
timeout 300 $PY benchmarks/bench_gpu.py --parts check --check-steps 8 --json "$OUT/gpu-check.json" \
  > "$OUT/gpu-check.log" 2>&1; stamp "check rc=$?"; tail -2 "$OUT/gpu-check.log"; }

wait
stamp "study done"
for f in /tmp/study/results/*.jsonl; do echo "$(basename "$f"): $(wc -l < "$f") points"; done
grep -h "Error\|error" /tmp/study/logs/*.log | sort | uniq -c | head
tar -czf "$OUT/study.tar.gz" -C /tmp/study results logs
if [ -n "${KEEP_CHECKPOINTS:-}" ]; then
  for d in /tmp/study/runs/*/; do [ -f "$d/checkpoint.pt" ] && cp "$d/checkpoint.pt" "$OUT/$(basename "$d").pt"; done
fi
stamp "end"
