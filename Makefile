# Two-command set-up: `make demo` and `make test` each create .venv when missing, install what they
# need (Festival's apt packages too, for the tests), fetch the model assets, and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TALKIES := $(VENV)/bin/talkies
STAMP := $(VENV)/.talkies-installed
export TALKIES_PROGRESS ?= 1

# Festival and its voices built from human recordings (US English, Italian, Finnish, Czech, Catalan), and
# flite (two more English speakers): lip-sync training data (models/lipsync/festival.py, flite.py) and tests.
# festvox-ru is a unit-selection voice that ships its 96 minutes of labelled recordings of a Russian reader:
# real speech for training (models/lipsync/recorded.py).
FESTIVAL_PACKAGES := festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-itapc16k \
  festvox-italp16k festvox-suopuhe-mv festvox-suopuhe-lj festvox-czech-machac festvox-czech-dita \
  festvox-ca-ona-hts festvox-ru flite
FESTIVAL_VOICES := english/kal_diphone english/ked_diphone us/cmu_us_slt_arctic_hts italian/pc_diphone \
  italian/lp_diphone finnish/hy_fi_mv_diphone finnish/suo_fi_lj_diphone czech/czech_machac czech/czech_dita \
  catalan/upc_ca_ona_hts russian/msu_ru_nsh_clunits

# npm fetches the Kokoro voices (the kokoro-js package) for `talkies models fetch`.
KOKORO_PACKAGES := npm

# The Khronos glTF validator (npm) checks the GLB/glTF/VRMA files in the tests; it lives in the venv.
GLTF_VALIDATOR := gltf-validator@2.0.0-dev.3.10
# The studio's browser test (tests/test_studio_browser.py) drives Debian's Chromium through its ChromeDriver
# (Selenium); nothing is downloaded from a browser vendor.
BROWSER_PACKAGES := chromium chromium-driver

# `make integration`: Debian's Blender imports and renders the talking-head GLBs (its glTF importer needs
# python3-numpy).
INTEGRATION_PACKAGES := blender python3-numpy

.PHONY: all install models kokoro festival browser test test-nojit demo bench clean integration

all: test

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Pin torch first: an unpinned torch pulls gigabytes of CUDA; 2.13.0 resolves to the CPU build.
	$(PY) -m pip install -q torch==2.13.0
	# constraints.txt: known-good versions, so the resolver never backtracks (see its header).
	$(PY) -m pip install -q -c constraints.txt -e '.[export,dev]'
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,$(KOKORO_PACKAGES)); }
	npm install -s --no-audit --no-fund --prefix $(VENV)/node $(GLTF_VALIDATOR)
	touch $(STAMP)

install: $(STAMP) browser

models: $(STAMP) kokoro
	$(TALKIES) models fetch

# Installs npm with apt-get only when it is missing (as root, or with sudo).
kokoro:
	@if command -v npm >/dev/null 2>&1; then :; else $(call apt_install,$(KOKORO_PACKAGES)); fi

# $(call apt_install,PACKAGES): one shell line that installs PACKAGES with apt-get (as root, or with sudo).
apt_install = command -v apt-get >/dev/null 2>&1 || { echo "$(1) missing and there is no apt-get:" \
    "install them with this system's package manager" >&2; exit 1; }; \
  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
  echo "installing $(1) with apt-get"; \
  { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
    --no-install-recommends $(1); } || { echo "could not install $(1)" \
    "with apt-get (root or sudo needed); install them, then rerun" >&2; exit 1; }

# Installs the apt packages only when festival, flite or one of the voices is missing.
festival:
	@if command -v festival >/dev/null 2>&1 && command -v flite >/dev/null 2>&1 $(foreach v,$(FESTIVAL_VOICES),&& test -d /usr/share/festival/voices/$(v)); \
	then :; else $(call apt_install,$(FESTIVAL_PACKAGES)); fi

# Installs chromium and chromium-driver with apt-get only when one of them is missing.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	else $(call apt_install,$(BROWSER_PACKAGES)); fi

# The kernel tests in pure Python (NUMBA_DISABLE_JIT=1) on their small cases, then the whole suite.
test: models festival browser
	$(MAKE) --no-print-directory test-nojit
	$(PY) -m pytest -q -p no:cacheprovider

test-nojit: $(STAMP)
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_kernels_*.py

# Blender, run headless, imports the talking-head GLBs (the canonical head, and Grace Hopper's made by
# `talkies animate` from a script: face models and a TTS voice, hence `models`) and renders three frames of each
# (tests/test_formats_blender.py; TALKIES_RENDER_DIR=DIR keeps the renders).
integration: models
	@if command -v blender >/dev/null 2>&1 && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then :; \
	else $(call apt_install,$(INTEGRATION_PACKAGES)); fi
	TALKIES_INTEGRATION=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_formats_blender.py

demo: models
	$(PY) -m talkies.demo

bench: models
	$(PY) -m pytest -q benchmarks --benchmark-only

clean:
	rm -rf out demo.mp4 .pytest_cache
