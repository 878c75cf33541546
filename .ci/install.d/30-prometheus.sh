# Debian's prometheus, for promtool: the monitoring tests check the alert
# rules, their unit tests, the dashboard's queries and a real Caddy's
# /metrics with it (they fail in CI without it)
if ! command -v promtool >/dev/null 2>&1; then
	apt_install prometheus
fi
promtool --version 2>&1 | sed -n 1p
# jq, for the test of monitoring/group-conflicts.jq
if ! command -v jq >/dev/null 2>&1; then
	apt_install jq
fi
jq --version
