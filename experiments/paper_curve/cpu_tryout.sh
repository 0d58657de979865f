#!/usr/bin/env bash
# The lent-GPU command on this CPU, end to end, as the device runs it: `scripts/gpu_session.sh paper-curve` with
# the wheels installed into /tmp/site, the ffmpeg stand-ins, the FLAC data unpacked to /tmp, and an interpreter
# that sees only what the device image holds (its package list, /work/.library/device/KINDS.md) plus those wheels.
#
#   experiments/paper_curve/cpu_tryout.sh            # shrunk networks, 10 steps, a point every 5: about a minute
#   PAPER_ARGS="--max-steps 2 --limit-songs 1" PAPER_EVERY=1 experiments/paper_curve/cpu_tryout.sh   # the real preset
#
# The image's Python is 3.12 and this machine's 3.11, so the two wheels with compiled code (cffi, rpds-py) are
# fetched again for 3.11 into /tmp/whl-cp311 (PyPI, once); the rest are the very files in .whl/. Results go to
# OUT (default /tmp/paper-curve-cpu-out), never into the repository.
set -eu
cd "$(dirname "$0")/../.."
VENV_PY=${VENV_PY:-$PWD/.venv/bin/python}
SITE=$("$VENV_PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
[ -d .whl ] && [ -d .gpu/musdb18-7-20k-flac ] || { echo "run make gpu-prep first"; exit 1; }

# the device image's packages (those semisep_lib and museval reach), from this venv; nothing else
IMG=/tmp/paper-curve-imagesite
rm -rf "$IMG"; mkdir -p "$IMG"
for p in torch torchgen functorch triton nvidia cuda torchaudio numpy numpy.libs scipy scipy.libs pandas dateutil \
         six.py matplotlib mpl_toolkits contourpy cycler fontTools kiwisolver PIL pillow.libs pyparsing packaging \
         yaml _yaml tqdm simplejson attr attrs typing_extensions.py filelock fsspec jinja2 markupsafe networkx sympy \
         mpmath setuptools pkg_resources _distutils_hack pip psutil; do
  [ -e "$SITE/$p" ] && ln -s "$SITE/$p" "$IMG/$p"
done
# python -S: no site-packages of the venv; PYTHONPATH (set by gpu_session.sh) first, then the image's packages;
# multiprocessing's spawned museval workers inherit both (-S and the environment)
cat > /tmp/paper-curve-python <<EOF
#!/bin/sh
PYTHONPATH="\${PYTHONPATH:+\$PYTHONPATH:}$IMG" exec nice -n 19 "$VENV_PY" -S "\$@"
EOF
chmod +x /tmp/paper-curve-python

# the wheels, with the two compiled ones for this Python
W=/tmp/whl-cp311
mkdir -p "$W"
for f in .whl/*.whl; do case "$(basename "$f")" in cffi-*|rpds_py-*) ;; *) cp -u "$f" "$W/";; esac; done
for spec in $(ls .whl | sed -n 's/^\(cffi\|rpds_py\)-\([^-]*\)-.*/\1==\2/p' | tr _ -); do
  ls "$W" | grep -qi "^$(echo "${spec%%==*}" | tr - _)-${spec##*==}-" || \
    "$VENV_PY" -m pip download -q --no-deps --only-binary=:all: -d "$W" "$spec"
done
rm -rf /tmp/site /tmp/musdb18-7-20k /tmp/paper-curve
export OUT=${OUT:-/tmp/paper-curve-cpu-out}
rm -rf "$OUT"
start=$(date +%s)
PY=/tmp/paper-curve-python WHEELS=$W DEVICE=cpu PAPER_EVERY=${PAPER_EVERY:-5} \
  PAPER_ARGS=${PAPER_ARGS:-"--shrink --max-steps 10 --workers 2"} scripts/gpu_session.sh paper-curve
echo "cpu try-out: $(( $(date +%s) - start )) s wall; results in $OUT"
