# Set-up is part of every target: the first run creates .venv and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up down demo test install deps clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)           ## the main job: start the local stack, simulate activity, report, alerts, dashboards
	$(BIN)/richness demo

up: $(STAMP)             ## start the local stack (broker, ClickHouse, services) in the background
	$(BIN)/richness up

down: $(STAMP)           ## stop it
	$(BIN)/richness down

deps:                    ## system packages the tests use: Debian's prometheus (promtool) and prometheus-alertmanager (amtool)
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus; }
	@command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus-alertmanager; }

test: $(STAMP) deps      ## the whole test suite, real components included
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
