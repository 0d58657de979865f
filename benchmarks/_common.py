"""Shared helpers of the benchmark scripts: the machine, fresh-subprocess cases, peak memory, test signals.

Every measured case runs in a fresh Python subprocess (``run_case``), so that the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read by the case itself at its end) belongs to that case alone
and not to whatever ran before it in the same interpreter.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MB = 1 << 20

if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------------------------------------------
# the machine


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (and its family/model numbers, which say more on cloud VMs)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                info.setdefault(k, v)
    except OSError:
        return platform.processor() or "unknown"
    name = info.get("model name", platform.processor() or "unknown")
    fam, mod = info.get("cpu family"), info.get("model")
    return f"{name} (family {fam}, model {mod})" if fam and mod else name


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict:
    """What produced the numbers: CPU, cores, memory, torch and its thread settings, load."""
    import torch

    try:
        import psutil

        mem_gb = round(psutil.virtual_memory().total / (1 << 30), 1)
    except ImportError:  # pragma: no cover
        mem_gb = None
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_default_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average_at_start": load_average(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# ---------------------------------------------------------------------------------------------------------------
# memory and cases in fresh processes


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size, in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / MB


#: the environment that makes this CPU compute as one without AVX-512: oneDNN's and PyTorch's own kernels at
#: AVX2 (oneDNN then reports no bf16 support, so the ``cpu`` preset runs in fp32)
NO_AVX512 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def run_case(script: Path, args: list[str], timeout: float | None = None, env: dict | None = None) -> dict:
    """Run ``python script --case-json ... args`` in a fresh interpreter (``env``: variables added to this
    process's environment) and return the dict it printed last (one JSON line prefixed ``CASE_RESULT ``).
    Raises with the child's stderr on failure."""
    cmd = [sys.executable, str(script), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
                          env={**os.environ, **env} if env else None)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("CASE_RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"case {' '.join(args)} failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len("CASE_RESULT "):])


def emit_case(result: dict) -> None:
    """What a case prints for :func:`run_case`; adds the case's peak RSS."""
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    print("CASE_RESULT " + json.dumps(result), flush=True)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------------
# test signals


def test_signal(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0,
                block: int = 1 << 20) -> np.ndarray:
    """A deterministic stereo test signal ``(channels, samples)`` float32: a few tones with vibrato and slow
    tremolo (a stand-in "voice"), a bass line, clicks and pink-ish noise. Generated in blocks, in float32, so
    that a 10-minute track costs no more than its own 212 MB."""
    n = int(round(seconds * rate))
    out = np.empty((channels, n), dtype=np.float32)
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(150, 900, size=4)
    pans = rng.uniform(0.2, 0.8, size=4)
    for s in range(0, n, block):
        e = min(n, s + block)
        t = np.arange(s, e, dtype=np.float64) / rate
        mono_noise = rng.standard_normal(e - s).astype(np.float32)
        # cheap colouring: a running average of white noise
        noise = np.convolve(mono_noise, np.ones(8, dtype=np.float32) / 8, mode="same")
        for c in range(channels):
            x = 0.02 * noise + 0.005 * rng.standard_normal(e - s).astype(np.float32)
            for f, p in zip(freqs, pans):
                gain = (p if c == 0 else 1 - p) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
                x += (0.08 * gain * np.sin(2 * np.pi * f * t + 3 * np.sin(2 * np.pi * 5 * t))).astype(np.float32)
            x += (0.1 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)
            x += (0.3 * (np.mod(t, 0.5) < 0.002)).astype(np.float32)  # clicks twice a second
            out[c, s:e] = x
    return out


def log_steps_per_second(log_path: Path, skip: int) -> tuple[float, int]:
    """Steps/s of a ``train.train`` run from the per-step ``time`` of its ``log.jsonl``, the first ``skip``
    steps left out (start-up); returns ``(steps per second, steps timed)``."""
    times = [json.loads(line)["time"] for line in Path(log_path).read_text().splitlines()]
    timed = len(times) - 1 - skip
    return timed / (times[-1] - times[skip]), timed


def score_and_time(sep, songs) -> dict:
    """Separate ``songs`` (``data.Song``, one rate) with ``sep`` after one untimed warm-up pass (oneDNN primitives
    for these shapes), time it, and score the vocals with museval v4 (1 s windows): median and mean over songs of
    each song's median SDR, median SIR, the per-song SDRs, wall seconds and × real time."""
    from semisep_lib.method.metrics import median_sdr_sir

    rate = songs[0].rate
    sep.separate(songs[0].mixture, rate)
    t0 = time.perf_counter()
    estimates = [sep.separate(s.mixture, rate) for s in songs]
    seconds = time.perf_counter() - t0
    scores = [median_sdr_sir(s.vocals.T, s.accompaniment.T, e.T, rate) for s, e in zip(songs, estimates)]
    audio_seconds = sum(s.mixture.shape[-1] for s in songs) / rate
    return {"SDR": float(np.nanmedian([v[0] for v in scores])), "mean_SDR": float(np.nanmean([v[0] for v in scores])),
            "SIR": float(np.nanmedian([v[1] for v in scores])),
            "per_song_SDR": [round(float(v[0]), 3) for v in scores],
            "seconds": round(seconds, 3), "times_real_time": round(audio_seconds / seconds, 1)}


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(int(n))


def fmt(x, digits: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def finish(out: dict, t_start: float, json_path) -> dict:
    """Close a benchmark's result: wall time, load average at the end, and the JSON file when asked for."""
    out["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    out["load_average_at_end"] = load_average()
    if json_path:
        write_json(json_path, out)
        print(f"wrote {json_path}")
    return out
