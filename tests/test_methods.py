"""The one registry of methods (``semisep_lib.study.methods``): what reproduce, the model card and the listening page
read from it."""

from semisep_lib.interfaces.listen import BASELINE_KEYS, run_labels
from semisep_lib.method.config import Config
from semisep_lib.study.methods import ABLATION, KINDS, METHODS, REPRODUCED, TRAINED_ROWS, row_key
from semisep_lib.study.tables import TABLE1_ROWS


def test_every_method_says_how_to_get_it():
    for m in METHODS.values():
        assert m.kind in KINDS
        assert (m.build is not None) == (m.kind in ("bound", "oracle"))
        assert (m.fit is not None) == (m.kind == "baseline") == (m.file is not None)
        assert m.load is not None or m.kind in ("bound", "oracle")
        assert m.table1 is None or m.table1 in TABLE1_ROWS
    cfg = Config.from_preset("smoke")
    assert METHODS["oracle"].build(cfg).spectral == cfg.spectral  # the STFT of the Config passed down


def test_reproduce_card_and_listening_page_read_the_same_rows():
    assert list(TRAINED_ROWS) == [*ABLATION, "supervised", "GAN only"]  # the order reproduce trains them in
    assert TRAINED_ROWS["GAN only"].without == ("R1", "R2", "R3", "R4", "GAN_A")
    assert TRAINED_ROWS["supervised"].objective == "supervised"
    assert {m.table1 for m in REPRODUCED if m.table1} == {"mixture", "oracle_irm", "supervised", "nmf", "gan", "nes",
                                                          "ours"}
    assert [m.card for m in METHODS.values() if m.card] == ["mixture", "silent", "oracle IRM", "ours (this model)",
                                                           "supervised same g", "NES", "NMF"]
    assert BASELINE_KEYS == {"nes": ("nes", "nes.pt", True), "nmf": ("nmf", "nmf.npz", False)}
    assert run_labels([row_key("all losses", 0), row_key("w/o GAN_A & GAN_C", 0), "nes-seed0", "nmf"]) == {
        "all-losses-seed0": "ours", "wo-GAN_A-GAN_C-seed0": "w/o GAN_A & GAN_C", "nes-seed0": "nes", "nmf": "nmf"}
    assert [METHODS[n].folder(1) for n in ("nes", "nmf", "ours")] == ["nes-seed1", "nmf", "all-losses-seed1"]
