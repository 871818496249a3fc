# Everything a fresh machine needs goes through these targets: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: install run test bench lint gallery clean

install: $(STAMP)

# Re-install only when pyproject.toml changed (the stamp name carries its hash).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(VENV)/bin/imgstudio resources/samples/astronaut.png

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests

bench: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s -p no:cacheprovider tests/benchmarks

gallery: install
	QT_QPA_PLATFORM=offscreen $(PY) scripts/make_gallery.py

lint: install
	$(VENV)/bin/ruff check imgstudio tests
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
