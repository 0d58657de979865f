#!/usr/bin/env bash
# What one lent-GPU session ran (the project's device tool: an H200 with 16 cores, no network, ~10 minutes a
# call), in one call, so that its start-up is paid once:
#   1. benchmarks/bench_gpu.py --parts throughput: paper and cpu preset training steps/s, alone on the GPU;
#   2. recipe-study runs (experiments/recipe/study.py --device cuda), one process per recipe x seed, all at once,
#      on the compact MUSDB18-7 copy made by experiments/recipe/compact_data.py (carried in .gpu/), each
#      stopping cleanly after the point that crosses STUDY_MINUTES;
#   3. meanwhile, benchmarks/bench_gpu.py --parts check: one row of `reproduce --profile paper` and NES on the GPU,
#      every stage's device recorded.
# Results land in $OUT (gpu-throughput.json, gpu-check.json, study.tar.gz with the curves and logs, and with
# KEEP_CHECKPOINTS=1 each run's checkpoint.pt, so that a CPU can resume it exactly). PARTS selects the parts.
# Needs: wheels of museval and what it imports in .whl/ (the image has torch), the compact data in .gpu/.
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
STUDY_MINUTES=${STUDY_MINUTES:-5}
STUDY_KILL_S=${STUDY_KILL_S:-420}
PARTS=${PARTS:-"throughput study check"}
has() { case " $PARTS " in *" $1 "*) return 0;; esac; return 1; }
RUNS=${RUNS:-"level-ema:0 level-ema:1 level-ema-gan1:0 level-ema-gan1:1 level-ema-slow-d:0 level-ema-slow-d:1
wide-level-ema:0 wide-level-ema:1 level:1 level-ema-decay:1 authors:0 authors:1"}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

export PYTHONPATH=$PWD
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || { echo "wheel install failed"; exit 1; }
fi
# stempeg (imported by museval through musdb) refuses to import without ffmpeg on PATH; the compact WAV copy
# needs no decoding, so a stand-in that only answers the version check will do here
mkdir -p /tmp/fakebin
for c in ffmpeg ffprobe; do printf '#!/bin/sh\necho "%s version 6.0"\n' "$c" > /tmp/fakebin/$c; chmod +x /tmp/fakebin/$c; done
export PATH=$PATH:/tmp/fakebin
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, museval, semisep_lib; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 1

has throughput && { stamp "throughput"
timeout 240 python3 benchmarks/bench_gpu.py --parts throughput --steps 300 --json "$OUT/gpu-throughput.json" \
  > "$OUT/gpu-throughput.log" 2>&1; stamp "throughput rc=$?"; tail -3 "$OUT/gpu-throughput.log"; }

mkdir -p /tmp/study/results /tmp/study/logs
has study && stamp "study: $(echo $RUNS | wc -w) runs" && for rs in $RUNS; do
  r=${rs%%:*}; s=${rs##*:}
  timeout "$STUDY_KILL_S" python3 experiments/recipe/study.py --device cuda --root .gpu/musdb18-7-16k --only "$r" \
    --seeds "$s" --results /tmp/study/results --runs /tmp/study/runs --threads 1 --minutes "$STUDY_MINUTES" \
    > "/tmp/study/logs/$r-seed$s.log" 2>&1 &
done

has check && { stamp "paper check"
timeout 300 python3 benchmarks/bench_gpu.py --parts check --check-steps 8 --json "$OUT/gpu-check.json" \
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
