"""The interfaces on top: how a person runs and looks at the method and the study.

``notebooks``   running the narrated notebooks headless, and the helpers their cells call
``listen``      the A/B player (and a widget) for separated songs
``report``      the static listening page of a run
``docs``        the executed notebooks as static pages, beside the listening page
``cli``         every command's argument parsing (``semisep``, ``python -m semisep_lib``)

Nothing below imports these modules.
"""
