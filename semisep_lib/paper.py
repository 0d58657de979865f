"""The paper's numbers, kept in one place: what our tables and plots are set beside (median vocal SDR/SIR, dB)."""

#: Table 1: semi-supervised methods on MUSDB18; the baselines as reported by Hoshen et al. (no SIR given).
PAPER_TABLE1 = {
    "NMF": {"SDR": 0.0, "SIR": None},
    "GAN": {"SDR": 0.3, "SIR": None},
    "GLOM": {"SDR": 0.6, "SIR": None},
    "NES": {"SDR": 0.3, "SIR": None},
    "NES-FT": {"SDR": 2.1, "SIR": None},
    "ours": {"SDR": 3.2, "SIR": 14.2},
}

#: Table 3: the ablation, on the DSD100 evaluation subset, by row label.
PAPER_TABLE3 = {
    "all losses": {"SDR": 3.5, "SIR": 15.2},
    "w/o R1": {"SDR": -0.9, "SIR": 3.4},
    "w/o R2": {"SDR": 2.3, "SIR": 9.7},
    "w/o R3": {"SDR": -4.3, "SIR": 13.3},
    "w/o R4": {"SDR": -6.3, "SIR": -4.7},
    "w/o GAN_A": {"SDR": -6.3, "SIR": -4.2},
    "w/o GAN_C": {"SDR": -4.1, "SIR": -2.4},
    "w/o GAN_A & GAN_C": {"SDR": -17.0, "SIR": -3.6},
}
