# Everything a fresh machine needs goes through these targets: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/no-deps.txt | sha1sum | cut -c1-12)
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: install run test bench lint gallery clean

install: $(STAMP)

# Re-install only when pyproject.toml changed (the stamp name carries its hash).
# The `dl` extra brings torch (~106 s and 5.5 GB from local files here); requirements/no-deps.txt
# holds the packages that must not pull opencv-python over our contrib cv2 (their real
# dependencies are in the extra). The last line fails the install if cv2 lost its contrib part.
$(STAMP): pyproject.toml requirements/no-deps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,dl]"
	$(PY) -m pip install --quiet --no-deps -r requirements/no-deps.txt
	$(PY) -c "import cv2; assert hasattr(cv2, 'ximgproc'), 'cv2 is not the contrib build: pip install --force-reinstall opencv-contrib-python-headless'"
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
