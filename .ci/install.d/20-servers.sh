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
nginx -v 2>&1; apache2 -v | head -1; lighttpd -v; haproxy -v | head -1; varnishd -V 2>&1 | head -1
"$(compgen -G '/usr/sbin/php-fpm[0-9]*' | sort | tail -1)" -v | head -1
/usr/share/tomcat10/bin/version.sh 2>/dev/null | grep 'Server number'; node --version
