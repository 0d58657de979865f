"""The bf16 check's rule (benchmarks/bench_bf16.py): a late-mean score per run, kept when the bf16 runs' range over
seeds overlaps the fp32 runs'."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))  # bench_bf16 imports _common from its own folder
    try:
        spec = importlib.util.spec_from_file_location("bench_bf16", BENCH / "bench_bf16.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def _run(folder: Path, sdrs: list[float], seconds_per_step: float = 1.0) -> Path:
    folder.mkdir()
    steps = [1000 + 250 * i for i in range(len(sdrs))]
    folder.joinpath("valid.jsonl").write_text("".join(
        json.dumps({"step": s, "val_sdr": v, "val_vocal_fraction": 0.15, "time": s * seconds_per_step}) + "\n"
        for s, v in zip(steps, sdrs)))
    return folder


def test_the_score_is_the_mean_of_the_last_thousand_steps(bench, tmp_path):
    run = _run(tmp_path / "r", [9.0, 1.0, 2.0, 3.0, 4.0, 5.0])  # steps 1000 … 2250: the last 1,000 = 1250 …
    s = bench.summary(run)
    assert s["late_mean_sdr"] == pytest.approx(3.0) and s["final_sdr"] == 5.0
    assert (s["best_sdr"], s["best_step"]) == (9.0, 1000) and s["seconds_per_step"] == pytest.approx(1.0)


def test_bf16_is_kept_only_when_its_seeds_overlap_the_fp32_seeds(bench, tmp_path):
    fp32 = [_run(tmp_path / f"fp32-{i}", [3.0] * 5 + [v], 1.0) for i, v in enumerate((3.0, 4.0))]
    same = [_run(tmp_path / f"same-{i}", [3.0] * 5 + [v], 0.5) for i, v in enumerate((3.5, 3.6))]
    worse = [_run(tmp_path / f"worse-{i}", [2.0] * 6, 0.5) for i in range(2)]
    kept = bench.compare(fp32, same)
    assert kept["keep_bf16"] and kept["end_to_end_speedup"] == [2.0, 2.0]
    assert not bench.compare(fp32, worse)["keep_bf16"]
    assert "no overlap" in bench.markdown(bench.compare(fp32, worse))
    with pytest.raises(SystemExit):
        bench.compare(fp32[:1], same[:1])
