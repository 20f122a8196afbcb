#!/usr/bin/env bash
# The Python SDK's tests, as `npm test` runs them (`npm run test:python`). With MAKAI_PYTHON set
# (as .ci/run does) that interpreter runs them; otherwise the project's .venv, made here first
# when it does not exist yet, so `npm ci && npm test` alone works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${MAKAI_PYTHON:-}" && ! -x .venv/bin/python ]]; then
  echo "test:python: making .venv (python3 -m venv, pip install -e 'sdk/python[test]')" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e 'sdk/python[test]'
fi
exec "${MAKAI_PYTHON:-.venv/bin/python}" -m pytest -q sdk/python/tests
