"""The paper's method, the part to open first: what is trained, how, and how it separates a song.

In the order a reader meets them (each imports only the ones above it, and what lies under all three parts):

``config``      one ``Config`` (spectral front end, networks, loss weights, training, separation) and the presets
``metrics``     the fast SDR and the energy fractions that validation and mask tuning measure by
``spectral``    the STFT, magnitudes, compression, masks applied with the mixture's phase
``models``      the masking network ``g`` and the discriminators ``d_A``, ``d_C``
``losses``      R1–R4, GAN_A, GAN_C, each a small function named as in the paper
``segments``    the two unmatched sets as signals (``TrainingData``) and their seeded random segments
``separator``   the contract every method follows: audio in, vocals out, the accompaniment the rest
``checkpoint``  atomic checkpoints, ``load_g``, the device
``train``       the training loop, top to bottom, resumable bit for bit
``separate``    ``MaskSeparator``: whole songs of any length, mask post-processing, the mask exponent's tuning

Where the songs come from, what the method is compared with and how it is scored is the study's
(:mod:`semisep_lib.study`).
"""
