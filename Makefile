# Everything installs into .venv; nothing needs installing by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Every dependency of `.[dev]`, pinned with hashes, for all platforms (see `make lock`).
LOCK := requirements/dev.lock

.PHONY: install fonts speech lock test test-fast lint typecheck run demo demo-service bench schema ts-client sdk-docs console-htmx console-test-deps clean

# The pinned set first, then this project itself without resolving again; the checks fail when
# pyproject.toml asks for something the lock lacks (run `make lock`): `pip check` sees the base
# requirements (the light install), scripts/check_install.py the `dev` extra (the server, every
# other extra and the tools).
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	$(PY) scripts/check_install.py 'reelforge[dev]'
	touch $(STAMP)

install: $(STAMP)
	@$(MAKE) --no-print-directory fonts || echo "(text and captions needing them are refused until they are installed)" >&2

# The fonts text and captions fall back to, per character (render/fonts.py, DEFAULT_FALLBACK):
# Latin, Greek, Cyrillic, Arabic, Hebrew and Devanagari (Noto), CJK (Noto CJK) and emoji drawn as
# outlines (Symbola: FreeType, libass and drawtext cannot draw colour bitmap emoji). Debian's
# packages, installed by apt-get when missing (as root; otherwise the command to run is printed:
# the tests and the demo need them, `make run` starts without them and refuses text they would draw).
FONT_PACKAGES := fontconfig fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-symbola
FONT_FAMILIES := "DejaVu Sans" "Noto Sans" "Noto Sans Arabic" "Noto Sans Hebrew" "Noto Sans Devanagari" \
	"Noto Sans CJK SC" Symbola
fonts:
	@missing=0; for family in $(FONT_FAMILIES); do \
	  fc-list "$$family" family 2>/dev/null | grep -q . || missing=1; done; \
	if [ $$missing = 0 ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; \
	else echo "missing fonts: run  sudo apt-get install $(FONT_PACKAGES)" >&2; exit 1; fi

# The transcription tests and bench/asr_bench.py synthesise speech with known words and times with
# espeak-ng (tests/speechgen.py): Debian's package, installed by apt-get when missing (as root).
SPEECH_PACKAGES := espeak-ng
speech:
	@if command -v espeak-ng >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SPEECH_PACKAGES) >/dev/null; \
	else echo "missing espeak-ng: run  sudo apt-get install $(SPEECH_PACKAGES)" >&2; exit 1; fi

# tests/test_docs_offline.py loads /docs in Debian's Chromium (`apt-get install chromium`; .ci/run
# installs it); without /usr/bin/chromium that test skips.

# The console's htmx is a committed copy of the npm package's dist/htmx.min.js (nothing is loaded
# from a CDN); `make console-htmx` takes it again from the npm registry at HTMX_VERSION.
HTMX_VERSION := 2.0.11
CONSOLE_STATIC := src/reelforge/api/console/static
console-htmx:
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null && tar xzf htmx.org-$(HTMX_VERSION).tgz) \
	  && cp $$tmp/package/dist/htmx.min.js $(CONSOLE_STATIC)/htmx.min.js && rm -rf $$tmp

# tests/test_console_browser.py drives the console in the same Chromium and injects axe-core from
# tests/console_js (npm install there; .ci/run does).
console-test-deps:
	cd tests/console_js && npm install --no-audit --no-fund --loglevel=error

# Re-resolve the lock after a dependency change in pyproject.toml; versions already pinned are
# kept where they still fit (`make lock UPGRADE=1` takes the newest of everything).
# Needs only uv, not an installed .venv: the lock may lack what pyproject.toml now asks for.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)

test: $(STAMP) fonts speech
	$(PY) -m pytest -n 2 -q

test-fast: $(STAMP) fonts speech
	$(PY) -m pytest -n 2 -q -m 'not slow'

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The service on its embedded defaults: SQLite and files under ./data, an in-process worker.
# `make run PORT=8001 HOST=0.0.0.0` listens elsewhere (PORT=0: any free port).
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	@$(MAKE) --no-print-directory fonts || echo "(text and captions needing them are refused until they are installed)" >&2
	$(VENV)/bin/reelforge serve --host $(HOST) --port $(PORT)

demo: $(STAMP) fonts
	$(PY) examples/make_media.py
	$(PY) examples/render_all.py $(if $(RESOLUTION),--resolution $(RESOLUTION))

# Every example rendered by a running service (`make run` in another terminal; REELFORGE_TOKEN
# set to the key it printed): the media uploaded with tus, each edit pushed and rendered.
demo-service: $(STAMP)
	$(PY) examples/make_media.py
	$(PY) examples/push_all.py

bench: $(STAMP)
	$(PY) bench/render_bench.py

schema: $(STAMP)
	$(VENV)/bin/reelforge schema > docs/edit.schema.json

# The clients' generated code, from the service's OpenAPI document (tests fail when it drifts):
# the Python SDK's models, and the TypeScript client's openapi.json and src/schema.ts.
ts-client: $(STAMP)
	PYTHONPATH=src $(PY) scripts/gen_client_models.py
	PYTHONPATH=src $(PY) scripts/export_openapi.py
	cd clients/typescript && npm install --no-audit --no-fund --loglevel=error && npm run generate

# The Python SDK's reference (docs/sdk.md) from its docstrings.
sdk-docs: $(STAMP)
	PYTHONPATH=src $(PY) scripts/gen_sdk_docs.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist out
