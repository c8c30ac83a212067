# Shared by scripts/demo and scripts/test: a project virtualenv with everything installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
step() { echo "purpose-proxy: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  step "creating the virtualenv .venv/ with $PYTHON"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the dependency list changed since the last install.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  step "installing dependencies into .venv/ (first run: about a minute)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  # One line per package as pip gets to it, so a slow network shows as progress, not silence.
  set +e
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -e ".[test]" 2>&1 \
    | tee .venv/pip-install.log \
    | { grep --line-buffered -E '^(Collecting|Successfully installed)' | sed -u 's/^/  /' >&2; true; }
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    step "installing failed (pip exit $status); the end of .venv/pip-install.log:"
    tail -20 .venv/pip-install.log >&2
    exit 1
  fi
  rm -f .venv/.installed-* && touch "$stamp"
  step "dependencies installed"
fi
