#!/usr/bin/env bash
# Prepare what a lent GPU session carries (run here, where PyPI and the data are; idempotent: what exists is kept,
# so a session runs it in its first minute and it returns at once the second time):
#   .whl/                  wheels of museval and what it imports that the device image lacks (the image has torch,
#                          numpy, scipy, pandas, matplotlib, PyYAML, tqdm, simplejson, attrs), for its Python 3.12;
#   .gpu/musdb18-7-20k/    MUSDB18-7 mono at the paper preset's 20,480 Hz, 16-bit WAV (experiments/recipe/compact_data.py
#                          --preset paper; 56 MB), and .gpu/musdb18-7-20k-flac/, the same samples as FLAC (40 MB,
#                          experiments/paper_curve/flac.py): what `scripts/gpu_session.sh paper-curve` carries,
#                          unpacks and trains and validates on;
#   .gpu/musdb18-7-16k/    the same at 16 kHz for the recipe study (`scripts/gpu_session.sh study`), only with
#                          GPU_PREP_STUDY=1 (the two copies do not fit one 64 MiB carry together).
# Then it prints what a device call carries — tracked and untracked-not-ignored files plus the carried folders —
# against the 64 MiB limit, and exits 1 if it is over.
#
#   scripts/gpu_prep.sh             # or: make gpu-prep
#   # then, on the device:  carry [".whl", ".gpu/musdb18-7-20k-flac"], command `scripts/gpu_session.sh paper-curve`
#
# Neither folder is ever committed (.gitignore: /.whl/, /.gpu/): the data is MUSDB18's, for research use only.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LIMIT=$((64 * 1024 * 1024))

# -- wheels: pinned to the versions of requirements.txt / the venv, CPython 3.12 manylinux x86_64 ----------------
WHEELS="museval==0.4.1 musdb==0.4.3 stempeg==0.2.6 ffmpeg-python==0.2.0 future==1.0.0 soundfile==0.14.0
cffi==2.1.1 pycparser==3.12 pyaml==26.7.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
referencing==0.37.0 rpds-py==2026.9.1"
mkdir -p .whl
for spec in $WHEELS; do
  name=${spec%%==*}; version=${spec##*==}
  stem=$(echo "$name" | tr '-' '_')
  if ls .whl/ 2>/dev/null | grep -qi "^${stem}-${version}-"; then continue; fi
  echo "downloading $spec"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$spec"
done
# one version of each package, or the device's install stops
dups=$(ls .whl/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z' 'a-z' | sort | uniq -d)
[ -z "$dups" ] || { echo "more than one wheel of: $dups (remove the old ones from .whl/)"; exit 1; }

# -- data ------------------------------------------------------------------------------------------------------
make_copy() {  # preset, folder
  if [ -f "$2/valid.txt" ] && [ "$(ls "$2/train" | wc -l)" -ge 94 ]; then return; fi
  echo "writing $2 (decodes MUSDB18-7: a few minutes)"
  OMP_NUM_THREADS=1 nice -n 19 "$PY" experiments/recipe/compact_data.py --preset "$1" --out "$2"
}
make_copy paper .gpu/musdb18-7-20k
nice -n 19 "$PY" experiments/paper_curve/flac.py pack .gpu/musdb18-7-20k .gpu/musdb18-7-20k-flac
[ -z "${GPU_PREP_STUDY:-}" ] || make_copy cpu .gpu/musdb18-7-16k

# -- what travels ------------------------------------------------------------------------------------------------
bytes_of() { if [ $# -eq 0 ]; then echo 0; else du -cb "$@" 2>/dev/null | tail -1 | cut -f1; fi; }
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s + 0}')
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null \
  | awk '$2 == "total" {s += $1} END {print s + 0}')
check() {  # label, carried folders...
  local label=$1; shift
  local carried; carried=$(bytes_of "$@")
  local total=$((tracked + untracked + carried))
  awk -v l="$label" -v t="$tracked" -v u="$untracked" -v c="$carried" -v s="$total" -v L="$LIMIT" -v what="$*" \
    'BEGIN {printf "%s: tracked %.1f MB + untracked %.1f MB + carried %.1f MB (%s) = %.1f MB of %.1f MB (64 MiB)\n",
            l, t / 1e6, u / 1e6, c / 1e6, what, s / 1e6, L / 1e6}'
  [ "$total" -le "$LIMIT" ]
}
ok=0
check paper-curve .whl .gpu/musdb18-7-20k-flac || { echo "  over the limit"; ok=1; }
if [ -d .gpu/musdb18-7-16k ]; then check study .whl .gpu/musdb18-7-16k || { echo "  over the limit"; ok=1; }; fi
echo "wheels: $(ls .whl/*.whl | wc -l) files, $(du -sh .whl | cut -f1)"
exit $ok
