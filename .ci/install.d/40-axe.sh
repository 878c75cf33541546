# axe-core from npm, for the accessibility checks in integration/axe_test.go
# (they fail in CI without it); injected into Debian's chromium, no browser
# download
if ! command -v npm >/dev/null 2>&1; then
	apt_install nodejs npm
fi
(cd integration/axe && npm ci --no-audit --no-fund --ignore-scripts)
