# Debian's Chromium, for the browser tests (they fail in CI without it)
if ! command -v chromium >/dev/null 2>&1; then
	apt_install chromium
fi
chromium --version
