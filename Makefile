# The two commands of the README:  `make reproduce` (the main job) and `make test`.
# Each creates .venv and installs the pinned requirements when needed, and installs ffmpeg with apt when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROFILE ?= cpu
DATA    ?= toy
OUT     ?= runs/reproduce-$(PROFILE)-$(DATA)
DOCS_OUT ?= docs/notebooks

.PHONY: reproduce test docs smoke ffmpeg venv clean-venv gpu-prep

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

ffmpeg:
	@scripts/ensure_ffmpeg.sh

reproduce: $(STAMP) ffmpeg
	$(BIN)/python -m semisep_lib reproduce --profile $(PROFILE) --data $(DATA) --out $(OUT)
	$(BIN)/python -m semisep_lib report $(OUT) --out $(OUT)/site

# the nine notebooks run on the toy songs (PROFILE, default cpu: about 100 minutes on two cores) and rendered to
# static HTML with the listening page of the same run and an index (docs/notebooks/index.html); the notebooks run
# afresh in runs/docs-$(PROFILE)/ (emptied first: 07-09 would otherwise reuse rows an earlier commit trained).
# At the cpu profile (the committed pages) the run's times are recorded too: notebooks/run-times.json and every
# notebook's first cell, rendered copies included (run it on an otherwise idle machine)
docs: $(STAMP) ffmpeg
	rm -rf runs/docs-$(PROFILE)
	$(BIN)/python -m semisep_lib docs --profile $(PROFILE) --out $(DOCS_OUT) $(if $(filter cpu,$(PROFILE)),--record-times)

# pytest exits 5 when it collected no test: that must fail, not pass silently.
test: $(STAMP) ffmpeg
	@$(BIN)/python -m pytest -q -ra; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi; exit $$rc

# what a lent GPU session carries (wheels in .whl/, MUSDB18-7 at the paper preset's rate in .gpu/), made once and
# checked against the device tool's 64 MiB; idempotent (scripts/gpu_prep.sh, experiments/paper_curve/README.md)
gpu-prep: $(STAMP)
	@PY=$(BIN)/python scripts/gpu_prep.sh

clean-venv:
	rm -rf $(VENV)
