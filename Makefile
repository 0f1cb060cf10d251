# Two commands: `make run` serves the app, `make test` runs every test.
# Both set up everything first: system packages, the virtualenv, the database.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 4
export FLASK_APP := app

RUN_PACKAGES := libzbar0
TEST_PACKAGES := $(RUN_PACKAGES) postgresql chromium fonts-dejavu-core

.PHONY: run test setup setup-test system-packages-run system-packages-test htmx clean

run: setup
	$(BIN)/flask ensure-demo
	@echo ""
	@echo "  Warehouse floor app: http://localhost:$(PORT)/  (on the LAN: http://$$(hostname -I 2>/dev/null | cut -d' ' -f1):$(PORT)/)"
	@echo "  Demo sign-in: super / super (supervisor), picker / picker (operator), admin / admin"
	@echo ""
	$(BIN)/gunicorn --workers $(WORKERS) --bind 0.0.0.0:$(PORT) --access-logfile - "app:create_app()"

test: setup-test
	$(BIN)/python -m pytest

setup: system-packages-run $(VENV)/.installed

setup-test: system-packages-test $(VENV)/.installed

system-packages-run:
	@scripts/system-packages.sh $(RUN_PACKAGES)

system-packages-test:
	@scripts/system-packages.sh $(TEST_PACKAGES)

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Re-vendor htmx from the npm package (the file is committed; run this to upgrade).
HTMX_VERSION := 2.0.11
htmx:
	cd /tmp && npm pack --silent htmx.org@$(HTMX_VERSION) && tar xzf htmx.org-$(HTMX_VERSION).tgz package/dist/htmx.min.js
	cp /tmp/package/dist/htmx.min.js static/vendor/htmx.min.js

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
