# Everything a fresh machine needs goes through these targets: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/no-deps.txt | sha1sum | cut -c1-12)
HEADLESS := QT_QPA_PLATFORM=offscreen

.PHONY: install run test bench fuzz lint gallery clean

install: $(STAMP)

# Re-install only when pyproject.toml changed (the stamp name carries its hash).
# The `dl` extra brings torch (~106 s and 5.5 GB from local files here); requirements/no-deps.txt
# holds the packages that must not pull opencv-python over our contrib cv2 (their real
# dependencies are in the extra). The last line fails the install if cv2 lost its contrib part.
# A .venv left broken by a failed first install (say, a Python without ensurepip, so no pip in
# it) is rebuilt rather than tripped over; a Python that cannot make one gets a clear message.
$(STAMP): pyproject.toml requirements/no-deps.txt
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) && \
	  $(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV); echo "make: '$(PYTHON) -m venv' \
	  cannot make a virtual environment with pip (Debian: apt-get install python3-venv)" >&2; \
	  exit 1; }; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,dl]"
	$(PY) -m pip install --quiet --no-deps -r requirements/no-deps.txt
	$(PY) -c "import cv2; assert hasattr(cv2, 'ximgproc'), 'cv2 is not the contrib build: pip install --force-reinstall opencv-contrib-python-headless'"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Refuses to start an invisible editor when there is no display, and names the Qt platform
# libraries that are missing (scripts/check_display.py).
run: install
	@$(PY) scripts/check_display.py
	$(VENV)/bin/imgstudio resources/samples/astronaut.png

test: install
	$(HEADLESS) $(PY) -m pytest -q -p no:cacheprovider tests

bench: install
	$(HEADLESS) $(PY) -m pytest -q -s -p no:cacheprovider tests/benchmarks

# Bounded-time fuzzing of the file readers (FUZZ_SECONDS each); prints executions and findings.
FUZZ_SECONDS ?= 60
fuzz: install
	$(PY) tests/fuzz/fuzz_load_image.py --seconds $(FUZZ_SECONDS)
	$(PY) tests/fuzz/fuzz_project.py --seconds $(FUZZ_SECONDS)

gallery: install
	$(HEADLESS) $(PY) scripts/make_gallery.py

lint: install
	$(VENV)/bin/ruff check imgstudio tests
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
