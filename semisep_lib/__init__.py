"""semisep — semi-supervised singing voice separation with a masking network trained on synthetic mixtures.

A thin library under narrated notebooks, reproducing Michelashvili, Benaim & Wolf (ICASSP 2019). Its folders are
its architecture; each part imports only the parts below it (``tests/test_layout.py`` keeps it so):

``interfaces/``   how a person runs it and looks at it: ``notebooks``, ``listen``, ``report``, ``docs``, ``cli``
``study/``        the study around the method: ``toy``, ``data``, ``evaluate``, ``nes``, ``tables``, ``plots``,
                  ``baselines``, ``levels``, ``methods``, ``pretrained``, ``reproduce``
``method/``       the paper's method, the part to open first: ``config``, ``metrics``, ``spectral``, ``models``,
                  ``losses``, ``segments``, ``separator``, ``checkpoint``, ``train``, ``separate``
underneath all    ``errors``, ``fileio``, ``audio``, ``paper``, ``runs`` (here, beside this file)

Data flows one way: ``study.data`` → ``method.spectral`` → ``models`` → ``losses`` → ``train`` → ``checkpoint``
→ ``separate`` → ``study.evaluate`` → ``tables`` → ``reproduce``. Each part's ``__init__`` lists its modules;
the README's "Layout" section maps them all.
"""

__version__ = "0.1.0"
