"""The narrated notebooks: structure, narration, committed without outputs — and a headless smoke run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from semisep_lib.config import Config, preset
from semisep_lib.notebooks import (NOTEBOOK_DIR, NOTEBOOK_RUNS, PROFILES, RESULTS_DIR, RUN_TIME_MARK, RUN_TIMES,
                                   NotebookError, Session, committed_ablations, list_notebooks, notebook_profile,
                                   record_run_times, run_notebooks, run_time_line, stamp_run_times, training_steps)
from semisep_lib.reproduce import PROTOCOL_FILES

NOTEBOOKS = list_notebooks()
REQUIRED_PARAMETERS = {"profile", "data", "root", "device", "out"}
MAX_CODE_LINES = 14


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _parameter_cells(nb) -> list:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def test_there_are_nine_numbered_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 8
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, len(names) + 1)]
    assert NOTEBOOK_DIR.name == "notebooks"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_run_without_gan_terms_skips_the_discriminator_warm_up(profile):
    """No GAN term, no discriminator to warm up: the same g steps, from step 0 (notebook 04's R1–R4 run)."""
    from semisep_lib.notebooks import Session

    cfg, nb = Config.from_preset(profile), notebook_profile(profile)
    total, warmup = training_steps("04-terms", nb, cfg.train)
    s = Session(profile, "toy", Path("."), None, cfg, Path("."), nb)
    cfg = s.schedule("04-terms", loss={"GAN_A": 0.0, "GAN_C": 0.0}).train
    assert (cfg.steps, cfg.d_warmup) == (total - warmup, 0)
    assert s.schedule("04-terms", loss={"GAN_A": 0.0}).train.d_warmup == warmup  # one GAN term still needs it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_the_settings(path):
    nb = _read(path)
    cells = _parameter_cells(nb)
    assert len(cells) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    (cell,) = cells
    assert cell.cell_type == "code"
    names = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)}
    assert REQUIRED_PARAMETERS <= names, f"{path.name}: parameters cell lacks {REQUIRED_PARAMETERS - names}"
    assert re.search(r'^profile = "smoke"', cell.source, re.M), "the committed default profile is smoke"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_narrated_and_short(path):
    nb = _read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 5, f"{path.name}: only {len(markdown)} markdown cells"
    assert sum(len(m) for m in markdown) >= 1500, f"{path.name}: too little narration"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("semisep_lib" in c for c in code), "the cells call the library"
    for src in code:
        assert len(src.splitlines()) <= MAX_CODE_LINES, f"{path.name}: a code cell is long:\n{src}"
        tree = ast.parse(src)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.walk(tree)), \
            f"{path.name}: functions belong in the library, not in cells:\n{src}"
    # narration sits between code cells: no two code cells in a row without a word in between
    kinds = [c.cell_type for c in nb.cells]
    assert "code,code,code" not in ",".join(kinds)


def test_the_set_covers_the_paper():
    text = "\n".join(c.source for p in NOTEBOOKS for c in _read(p).cells)
    for word in ("R1", "R2", "R3", "R4", "GAN_A", "GAN_C", "museval", "ipywidgets", "S_A", "S_C", "Table 1",
                 "Table 3", "LSGAN", "identity"):
        assert word in text, f"no notebook mentions {word}"


# ---------------------------------------------------------------------------------------------------------------
# every training run trains g, on every profile (read from the tables, nothing is run)


def _code(path: Path) -> str:
    return "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")


def _train_calls(tree) -> list:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "train" and isinstance(n.func.value, ast.Name) and n.func.value.id == "s"]


def _schedule_keys(tree) -> set:
    return {n.args[0].value for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "schedule" and n.args and isinstance(n.args[0], ast.Constant)}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("key", sorted(NOTEBOOK_RUNS))
def test_every_notebook_run_trains_g_after_the_warm_up(key, profile):
    from semisep_lib.notebooks import Session

    cfg, nb = Config.from_preset(profile), notebook_profile(profile)
    total, warmup = training_steps(key, nb, cfg.train)
    assert total > warmup, f"{key} on {profile}: {total} steps, {warmup} of them warm-up — g never trains"
    cfg = Session(profile, "toy", Path("."), None, cfg, Path("."), nb).schedule(key).train
    assert (cfg.steps, cfg.d_warmup) == (total, warmup)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_calls_take_their_steps_from_the_schedule(path):
    """Every ``s.train`` call gets an explicit config, step counts come only from ``s.schedule`` (so the test
    above covers them), and every schedule key the notebook names exists."""
    tree = ast.parse(_code(path))
    keys = _schedule_keys(tree)
    assert keys <= set(NOTEBOOK_RUNS), f"{path.name}: unknown schedule keys {keys - set(NOTEBOOK_RUNS)}"
    calls = _train_calls(tree)
    for call in calls:
        assert len(call.args) >= 2 or any(k.arg == "cfg" for k in call.keywords), \
            f"{path.name}: s.train without a config from s.schedule"
    if calls:
        assert keys, f"{path.name} trains without s.schedule"
    steps = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in ("steps", "d_warmup")]
    assert not steps, f"{path.name}: step counts belong in notebooks.NOTEBOOK_RUNS, not in a cell"
    used = {k for p in NOTEBOOKS for k in _schedule_keys(ast.parse(_code(p)))}
    assert used == set(NOTEBOOK_RUNS), f"runs no notebook uses: {set(NOTEBOOK_RUNS) - used}"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_reproduction_trains_g_after_the_warm_up(profile):
    """Notebooks 07 and 08 train through ``reproduce``: its rows also get g steps after the shared warm-up."""

    p = preset(profile).reproduce
    cfg = Config.from_preset(profile).updated(p.overrides)
    assert (p.steps or cfg.train.steps) > cfg.train.d_warmup


def test_the_paper_profile_refuses_the_toy_data(tmp_path):
    from semisep_lib.errors import UsageError
    from semisep_lib.notebooks import setup

    with pytest.raises(UsageError, match="paper profile needs MUSDB18") as info:
        setup("paper", "toy", out=tmp_path)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")
    assert not (tmp_path / "notebook").exists()


def test_pick_takes_one_value_per_profile_of_the_registry():
    from semisep_lib.errors import UsageError

    s = Session("cpu", "toy", Path("."), None, Config.from_preset("cpu"), Path("."), notebook_profile("cpu"))
    assert s.pick(smoke=1, cpu=2, paper=3) == 2
    with pytest.raises(UsageError, match="one value per profile"):
        s.pick(smoke=1, cpu=2)


# ---------------------------------------------------------------------------------------------------------------
# run times: measured, recorded, and stated in every notebook's first cell


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_states_the_measured_run_times(path):
    """The first cell ends with the sentence regenerated from notebooks/run-times.json, so it cannot drift from
    what `semisep notebooks --record-times` measured (smoke is measured for every notebook; a profile not
    measured for a notebook is said to be)."""
    import json

    record = json.loads(RUN_TIMES.read_text())
    assert path.stem in record["smoke"]
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.endswith(f"{RUN_TIME_MARK}\n{run_time_line(path.stem, record)}")


def test_recorded_run_times_are_stamped_into_first_cells(tmp_path):
    src = _tiny_notebooks(tmp_path / "src", fail=False)
    times = tmp_path / "times.json"
    record_run_times([{"notebook": "01_ok.ipynb", "seconds": 12.0, "load_average_before": [0.1, 0.1, 0.1]}],
                     "smoke", "toy", times)
    record = record_run_times([{"notebook": "01_ok.ipynb", "seconds": 600.0}], "cpu", "toy", times)
    assert set(record) == {"smoke", "cpu"}  # merged, not replaced
    line = run_time_line("01_ok", record)
    assert "`smoke` 12 s" in line and "`cpu` 10 min" in line and "`paper` not measured yet" in line
    assert stamp_run_times(record, src) == [src / "01_ok.ipynb", src / "02_second.ipynb"]
    assert _read(src / "01_ok.ipynb").cells[0].source == f"# 01_ok\n\n{RUN_TIME_MARK}\n{line}"
    assert stamp_run_times(record, src) == []  # a second stamp changes nothing
    assert _read(src / "01_ok.ipynb").cells[2].source == "x = 1"


# ---------------------------------------------------------------------------------------------------------------
# running them


def _tiny_notebooks(folder: Path, fail: bool) -> Path:
    """Two notebooks with a parameters cell; the second raises in its third cell when ``fail``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in (("01_ok", "x = 1"), ("02_second", "raise ValueError('broken on purpose')" if fail else "y = 2")):
        params = nbformat.v4.new_code_cell('profile = "smoke"\ndata = "toy"\nroot = None\ndevice = "auto"\nout = "."')
        params.metadata["tags"] = ["parameters"]
        cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, nbformat.v4.new_code_cell(body),
                 nbformat.v4.new_code_cell("open('ran.txt', 'a').write(profile + '\\n')")]
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return folder


@pytest.mark.slow
def test_committed_discriminator_tests_are_read_when_both_files_are_there(tmp_path):
    from semisep_lib.notebooks import EXPERIMENTS_DIR, committed_discriminator_tests

    assert committed_discriminator_tests(tmp_path) == {}
    (tmp_path / "long-ablation.md").write_text("| run | step |")
    assert committed_discriminator_tests(tmp_path) == {}  # no figure yet
    (tmp_path / "long-ablation.png").write_bytes(b"png")
    assert committed_discriminator_tests(tmp_path) == {"table": "| run | step |", "figure": tmp_path / "long-ablation.png"}
    if EXPERIMENTS_DIR.is_dir():  # the repository's own
        assert committed_discriminator_tests()["table"].startswith("| run | step |")


def test_a_committed_ablation_still_running_shows_its_tables_so_far(tmp_path):
    import json
    v4 = PROTOCOL_FILES["v4"]["name"]
    so_far = tmp_path / "reproduce-long-musdb" / "so-far"
    for where in (so_far, so_far / "paper-protocol"):
        where.mkdir(parents=True)
        (where / "table3.json").write_text(json.dumps({"rows": {"all losses": {"SDR": 3.0}}}))
        (where / "table3.md").write_text("# Table 3 so far")
    (so_far / "ordering.json").write_text(json.dumps({v4: {"kendall_tau": 1.0}}))
    run = committed_ablations(tmp_path)["reproduce-long-musdb"]
    assert not run["finished"] and run["tables"][v4]["markdown"] == "# Table 3 so far"
    assert run["ordering"][v4]["kendall_tau"] == 1.0 and len(run["tables"]) == 2


def test_committed_ablations_are_read_from_results_per_protocol(tmp_path):
    import json
    v4, v3 = (PROTOCOL_FILES[p]["name"] for p in ("v4", "v3"))
    long = tmp_path / "reproduce-long-musdb"
    for where, sdr in ((long, 3.0), (long / "paper-protocol", -1.0)):
        where.mkdir(parents=True)
        (where / "table3.json").write_text(json.dumps({"rows": {"all losses": {"SDR": sdr}}}))
        (where / "table3.md").write_text(f"table {sdr}")
    (long / "ordering.json").write_text(json.dumps({v4: {"kendall_tau": 0.5}}))
    (long / "selection-curves-seed0.png").write_bytes(b"png")
    (long / "game-seed0.png").write_bytes(b"png")
    (tmp_path / "reproduce-cpu-musdb").mkdir()  # nothing scored yet: not a committed run
    (tmp_path / "reproduce-cpu-toy").mkdir()
    found = committed_ablations(tmp_path)
    assert list(found) == ["reproduce-long-musdb"]
    assert found["reproduce-long-musdb"]["tables"][v3]["json"]["rows"]["all losses"]["SDR"] == -1.0
    assert found["reproduce-long-musdb"]["tables"][v4]["markdown"] == "table 3.0"
    assert found["reproduce-long-musdb"]["ordering"][v4]["kendall_tau"] == 0.5
    assert found["reproduce-long-musdb"]["curves"] == [long / "selection-curves-seed0.png"]
    assert found["reproduce-long-musdb"]["game"] == [long / "game-seed0.png"]
    assert found["reproduce-long-musdb"]["finished"]
    assert committed_ablations(tmp_path / "absent") == {}
    if RESULTS_DIR.is_dir():  # the repository's own: the cpu profile on MUSDB18-7 is committed
        assert "reproduce-cpu-musdb" in committed_ablations()


def test_run_notebooks_writes_executed_copies_in_out(tmp_path):
    src = _tiny_notebooks(tmp_path / "src", fail=False)
    out = tmp_path / "out"
    done = run_notebooks("cpu", out, directory=src, progress=False)
    assert [d["notebook"] for d in done] == ["01_ok.ipynb", "02_second.ipynb"]
    assert (out / "ran.txt").read_text() == "cpu\ncpu\n"  # injected parameter; cwd is out
    executed = _read(out / "01_ok.ipynb")
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    done = run_notebooks("smoke", out, directory=src, only=["02"], progress=False)
    assert [d["notebook"] for d in done] == ["02_second.ipynb"]


@pytest.mark.slow
def test_a_failing_notebook_names_itself_and_the_cell(tmp_path):
    src = _tiny_notebooks(tmp_path / "src", fail=True)
    out = tmp_path / "out"
    with pytest.raises(NotebookError) as info:
        run_notebooks("smoke", out, directory=src, progress=False)
    msg = str(info.value)
    assert "02_second.ipynb" in msg and "cell 3" in msg and "ValueError" in msg and "broken on purpose" in msg
    assert (out / "ran.txt").read_text() == "smoke\n"  # the first notebook ran; the second stopped at the error


def test_bad_arguments_are_usage_errors(tmp_path):
    from semisep_lib.cli import main
    from semisep_lib.errors import UsageError

    with pytest.raises(UsageError, match="profile"):
        run_notebooks("huge", tmp_path)
    with pytest.raises(UsageError, match="No notebook matches 99"):
        run_notebooks("smoke", tmp_path, only=["99"])
    with pytest.raises(UsageError, match="does not exist"):
        run_notebooks("smoke", tmp_path, directory=tmp_path / "nowhere")
    assert main(["notebooks", "--profile", "smoke", "--out", str(tmp_path), "--only", "99"]) == 2


@pytest.mark.slow
def test_every_notebook_runs_headless_in_the_smoke_profile(smoke_notebooks):
    """The real thing: all notebooks, in order, as CI runs them (07 and 08 share one reproduce run; the run is
    conftest's, which test_report.py also renders and opens in a browser)."""
    folder, done = smoke_notebooks["folder"], smoke_notebooks["done"]
    assert [d["notebook"] for d in done] == [p.name for p in NOTEBOOKS]
    for d in done:
        nb = _read(Path(d["output"]))
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors
    assert (folder / "reproduce" / "table1.md").is_file()
    assert (folder / "reproduce" / "table3.md").is_file()


# ---------------------------------------------------------------------------------------------------------------
# helpers the cells call


def test_method_signals_follow_the_identity_and_silence():
    """With the identity map the voice is silent and ā is c; with silence the voice is the whole mixture."""
    import numpy as np
    import torch

    from semisep_lib.notebooks import FixedMask, method_signals
    from semisep_lib.spectral import STFT, crop

    cfg = Config.from_preset("smoke")
    rng = np.random.default_rng(0)
    n = cfg.spectral.hop * (32 - 1)
    waves = torch.from_numpy(rng.standard_normal((2, 2, n)).astype(np.float32))  # (mixtures | instrumentals, 2, n)
    stft = STFT(cfg.spectral)
    A, C = (crop(stft(w)) for w in waves)
    identity = FixedMask(lambda m: torch.ones(1, 1, 1))
    sig = method_signals(identity, A, C, cfg, example=1)
    assert list(sig) == ["a", "g(a)", "b̄ = a − g(a)", "c", "ā = b̄ + c", "g(ā)"]
    assert all(v.shape == (n,) for v in sig.values())
    assert np.abs(sig["b̄ = a − g(a)"]).max() < 1e-6 and np.allclose(sig["g(a)"], sig["a"], atol=1e-6)
    assert np.allclose(sig["ā = b̄ + c"], sig["c"], atol=1e-5)
    assert np.allclose(sig["g(ā)"], sig["ā = b̄ + c"], atol=1e-6)
    silence = method_signals(FixedMask(lambda m: torch.zeros(1, 1, 1)), A, C, cfg)
    assert np.allclose(silence["b̄ = a − g(a)"], silence["a"], atol=1e-6) and np.abs(silence["g(a)"]).max() == 0
    # the cpu preset's rescale: ā (and with it b̄ and c) scaled so that ā peaks where a does
    half = FixedMask(lambda m: torch.full((1, 1, 1), 0.5))
    free = method_signals(half, A, C, cfg)
    rescaled = method_signals(half, A, C, Config.from_preset("cpu").updated({"spectral": {"segment_frames": 32}}))
    scale = rescaled["ā = b̄ + c"] / free["ā = b̄ + c"]
    assert np.allclose(scale, scale[n // 2], rtol=1e-3) and not np.isclose(scale[n // 2], 1.0)
    assert np.allclose(rescaled["c"], scale[n // 2] * free["c"], atol=1e-5)


def test_a_batch_to_listen_to_is_longer(toy_root):
    from semisep_lib.notebooks import setup

    s = setup("smoke", "toy", toy_root, "cpu", out=toy_root.parent / "nb-batch")
    A, C = s.batch()
    assert A.shape[-1] == s.cfg.spectral.segment_frames
    A3, C3 = s.batch(seconds=3)
    frames = A3.shape[-1]
    assert frames % 16 == 0 and 3 <= frames * s.cfg.spectral.hop / s.cfg.spectral.sample_rate < 3 + 16 * 0.008
    assert A3.shape == C3.shape and A3.shape[:2] == A.shape[:2]


def test_window_scores_pick_the_song_where_median_and_mean_differ_most(tmp_path):
    import json

    import numpy as np

    from semisep_lib.errors import DataError
    from semisep_lib.notebooks import window_scores

    def track(name, sdr):
        return {"name": name, "frames": {"vocals": {"SDR": sdr}}}

    (tmp_path / "ours.json").write_text(json.dumps({"tracks": [track("even", [3.0, 3.1, 2.9]),
                                                               track("uneven", [3.0, None, 3.2, -15.0])]}))
    (tmp_path / "mix.json").write_text(json.dumps({"tracks": [track("even", [-1.0]), track("uneven", [-2.0, -9.0])]}))
    song, w = window_scores(tmp_path, {"ours": "ours", "mixture": "mix"})
    assert song == "uneven" and np.isnan(w["ours"][1]) and list(w["mixture"]) == [-2.0, -9.0]
    assert window_scores(tmp_path, {"ours": "ours"}, song="even")[0] == "even"
    with pytest.raises(DataError, match="No scores"):
        window_scores(tmp_path, {"nes": "nes"})
    (tmp_path / "short.json").write_text(json.dumps({"tracks": [track("even", [1.0])]}))
    with pytest.raises(DataError, match="no scores for short"):
        window_scores(tmp_path, {"ours": "ours", "short": "short"})


@pytest.mark.parametrize("profile", ["smoke", "cpu", "long", "paper"])
def test_notebook_05s_written_out_terms_are_the_librarys_on_every_preset(profile):
    """The cells of *The six terms, written out* (notebook 05), run as they stand on a preset's networks, give
    the six values of ``losses.generator_losses`` — for every preset's details (level of ā, second pass, L1 scale,
    discriminators that see levels), not only for the smoke profile the notebook runs at in CI."""
    import types

    import torch

    from semisep_lib.losses import generator_losses
    from semisep_lib.models import build_models
    from semisep_lib.spectral import STFT, crop, magnitude

    cells = {c.get("id"): c.source for c in _read(NOTEBOOK_DIR / "05_gan.ipynb").cells}
    # the preset's details, on networks of the smoke size (the paper's g alone is 11 M parameters)
    cfg = Config.from_preset(profile).updated({"spectral": {"segment_frames": 64},
                                               "model": {"g_channels": 8, "g_res_blocks": 1, "d_channels": 8}})
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    n = cfg.spectral.hop * (cfg.spectral.segment_frames - 1)
    A, C = (crop(STFT(cfg.spectral)(scale * torch.randn(2, n))) for scale in (0.3, 0.1))
    _, g_log = generator_losses(g, d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
    names = {"s": types.SimpleNamespace(cfg=cfg), "g": g, "d_A": d_A, "d_C": d_C, "A": A, "C": C, "g_log": g_log,
             "magnitude": magnitude, "torch": torch}
    exec(cells["terms-by-hand-code"], names)  # noqa: S102 - the notebook's own code
    *body, last = ast.parse(cells["terms-by-hand-code2"]).body
    exec(compile(ast.Module(body=body, type_ignores=[]), "05", "exec"), names)  # noqa: S102
    checked = eval(compile(ast.Expression(last.value), "05", "eval"), names)  # noqa: S307
    assert set(checked) == {"R1", "R2", "R3", "R4", "GAN_A", "GAN_C"}
    assert all(agree for _, agree in checked.values()), checked
