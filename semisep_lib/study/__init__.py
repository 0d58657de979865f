"""The study around the method: the songs, the methods it is compared with, the scores, the tables, the main job.

``toy``         the procedural toy songs
``data``        songs from MUSDB18, DSD100 and the toy set, the one cache, the unmatched split, selection vs report
``evaluate``    museval scoring (v4 and the paper's v3), its guards; a MUSDB18 subset separated into museval's layout
``nes``         the NES baseline of Table 1
``tables``      Table 1 and Table 3 as Markdown and JSON, beside the paper's numbers
``plots``       the figures: spectrograms, masks, training curves, the ablation beside the paper's
``baselines``   the bounds (oracle mask, mixture, silence) and NMF
``levels``      the songs remixed with the voice louder or quieter, and how each method copes
``methods``     the one registry of methods: name → build / fit / load, and their rows
``pretrained``  the shipped model and its card
``reproduce``   the main job: every row of both tables, resumable; one run's mask exponent (``tune-mask``)

It imports the method (:mod:`semisep_lib.method`) and what lies under all three parts, never the interfaces.
"""
