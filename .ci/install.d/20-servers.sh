# Real servers for the corpus and the integration tests through Caddy
# (integration/realservers_*_test.go; they fail in CI without them):
# Debian's packages, and Express and express-pouchdb from npm at the
# versions in testdata/corpus/node/package-lock.json.
servers_missing=
for pair in nginx:nginx apache2:apache2 lighttpd:lighttpd haproxy:haproxy varnishd:varnish node:nodejs npm:npm; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || servers_missing="$servers_missing ${pair#*:}"
done
# php-fpm is versioned (php-fpm8.2 on bookworm); the tests take the newest
compgen -G '/usr/sbin/php-fpm[0-9]*' >/dev/null || servers_missing="$servers_missing php-fpm"
[ -x /usr/share/tomcat10/bin/catalina.sh ] || servers_missing="$servers_missing tomcat10"
if [ -n "$servers_missing" ]; then
	apt_install $servers_missing
fi
(cd testdata/corpus/node && npm ci --no-audit --no-fund --ignore-scripts)
# the versions, for the log (sed reads to the end: no SIGPIPE under pipefail)
nginx -v 2>&1
apache2 -v | sed -n 1p
lighttpd -v
haproxy -v | sed -n 1p
varnishd -V 2>&1 | sed -n 1p
"$(compgen -G '/usr/sbin/php-fpm[0-9]*' | sort | tail -1)" -v | sed -n 1p
/usr/share/tomcat10/bin/version.sh 2>/dev/null | sed -n '/Server number/p'
node --version
