#!/usr/bin/env bash
# Security checks of the dependencies and of our code; every finding is triaged in docs/reliability.md.
#
#   scripts/security_checks.sh        (from anywhere; uses .venv/bin/python unless PYTHON is set)
#
# Fails when pip-audit reports a vulnerability, when it could not audit a pinned package (--strict: an audit
# that looked nothing up must not read as "clean"; AUDIT_ALLOW_UNKNOWN=1 turns that into a warning for
# machines whose PyPI mirror lacks the advisory data), or when bandit reports a medium/high issue.
# The container's non-root user (uid 1000) is checked with the Docker image, not here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

# Add `--ignore-vuln <ID>` here only together with its explanation in docs/reliability.md.
IGNORED_VULNS=()
# Triaged in docs/reliability.md ("bandit"): B104 binds 0.0.0.0 on purpose (a container), B615 downloads the
# latest revision of our own prediction-log dataset on purpose (data, parsed as JSON Lines, never executed).
# Better: a `# nosec B104`/`# nosec B615` with the reason on those two lines, then drop this skip.
BANDIT_SKIP="B104,B615"

echo "== pip-audit: the pinned runtime requirements"
strict=(--strict)
[[ "${AUDIT_ALLOW_UNKNOWN:-0}" == "1" ]] && strict=()
"$PY" -m pip_audit -r requirements.txt --no-deps --disable-pip --progress-spinner off "${strict[@]}" \
    "${IGNORED_VULNS[@]}"

echo "== bandit: app.py scoring monitoring service (medium and high severity)"
"$PY" -m bandit -r app.py scoring monitoring service -q --severity-level medium --skip "$BANDIT_SKIP"
echo "security checks passed"
