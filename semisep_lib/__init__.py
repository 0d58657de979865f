"""semisep — semi-supervised singing voice separation with a masking network trained on synthetic mixtures.

A thin library under narrated notebooks, reproducing Michelashvili, Benaim & Wolf (ICASSP 2019).
Modules, in the order data flows: ``data`` (and ``toy``) → ``spectral`` → ``models`` → ``losses`` → ``train``
→ ``separate`` → ``evaluate`` → ``tables`` → ``reproduce``; beside them ``baselines``, ``nes``, ``listen`` and
``plots``; under all of them ``config`` with the preset registry; over all of them ``cli``. The README's
"Layout" section maps them.
"""

__version__ = "0.1.0"
