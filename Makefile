# The two commands of the README: `make demo` (the main job, embedded default)
# and `make test` (lint, types and the whole suite, as CI runs it).
.PHONY: demo test setup bench
VENV ?= .venv

setup:
	bash scripts/setup-venv

demo: setup
	bash scripts/install-system-deps || echo "(continuing with the ffmpeg that imageio-ffmpeg ships)"
	$(VENV)/bin/evidence init
	$(VENV)/bin/evidence demo

test:
	bash scripts/test

bench: setup
	$(VENV)/bin/python bench/custody.py --quick
