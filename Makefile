# Two commands: `make run` serves the app, `make test` runs every test.
# Both set up everything first: system packages, the virtualenv, the database.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 4
HTTPS ?=
CERT_DIR ?= $(or $(WH_INSTANCE_PATH),instance)/tls
export FLASK_APP := app
export HTTPS

RUN_PACKAGES := libzbar0 openssl
# A CJK font, so that Chromium draws the Chinese screens in the browser tests and their screenshots.
# nginx balances the two-host test's handhelds across its app hosts (tests/integration/test_two_hosts.py).
TEST_PACKAGES := $(RUN_PACKAGES) postgresql chromium fonts-dejavu-core fonts-wqy-microhei nginx

.PHONY: run test setup setup-test system-packages-run system-packages-test htmx clean

# HTTPS=1 serves with a self-signed certificate, so handheld cameras work on the LAN.
SCHEME := $(if $(filter 1,$(HTTPS)),https,http)
TLS_ARGS := $(if $(filter 1,$(HTTPS)),--certfile $(CERT_DIR)/cert.pem --keyfile $(CERT_DIR)/key.pem)

run: setup
	$(BIN)/flask ensure-demo
	$(if $(filter 1,$(HTTPS)),scripts/dev-cert.sh $(CERT_DIR))
	@echo ""
	@echo "  Warehouse floor app: $(SCHEME)://localhost:$(PORT)/  (on the LAN: $(SCHEME)://$$(hostname -I 2>/dev/null | cut -d' ' -f1):$(PORT)/)"
	@echo "  Demo sign-in: the accounts printed when the demo site was made, kept in $(or $(WH_INSTANCE_PATH),instance)/demo-accounts.txt"
	@echo ""
	$(BIN)/gunicorn --workers $(WORKERS) --bind 0.0.0.0:$(PORT) --access-logfile - $(TLS_ARGS) "app:create_app()"

# Two passes: everything but the browser and the kill-the-server tests on both cores (pytest-xdist,
# a test file per worker, each with its own PostgreSQL), then those alone, as their timings need.
SERIAL_TESTS := tests/e2e tests/integration/test_crash_safety.py

test: setup-test
	$(BIN)/python -m pytest -n 2 --dist loadfile $(addprefix --ignore=,$(SERIAL_TESTS))
	$(BIN)/python -m pytest $(SERIAL_TESTS)

# The translation catalogues (app/translations/*/LC_MESSAGES/messages.po) compiled for gettext.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))

setup: system-packages-run $(VENV)/.installed $(CATALOGUES)

setup-test: system-packages-test $(VENV)/.installed $(CATALOGUES)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

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
