"""semisep — semi-supervised singing voice separation with a masking network trained on synthetic mixtures.

A thin library under narrated notebooks, reproducing Michelashvili, Benaim & Wolf (ICASSP 2019).
Modules, in the order data flows: ``data`` (and ``toy``) → ``spectral`` → ``models`` → ``losses`` → ``train``
→ ``separate`` → ``evaluate`` → ``reproduce``; beside them ``baselines``, ``listen`` and ``plots``.
"""

__version__ = "0.1.0"
