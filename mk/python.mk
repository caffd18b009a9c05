# SPDX-License-Identifier: MIT
# Python front end (bindings/python, tests/python).
BINDINGS += -DQSEM_BUILD_PYTHON=ON
.PHONY: python test-python

# The extension as users get it: pip builds it from setup.py, into a venv
# of its own (Debian's python3 refuses installs outside one).
PY_VENV = $(BUILD)-venv
python:
	sh scripts/install-deps.sh core python
	$(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall .

test-python:
	sh scripts/install-deps.sh core python
	$(call configure_front_end,$(BUILD)-python,-DQSEM_BUILD_PYTHON=ON)
	ctest --test-dir $(BUILD)-python --output-on-failure -j $(JOBS) -L python
