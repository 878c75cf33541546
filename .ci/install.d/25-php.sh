# Debian's PHP FastCGI process manager, for the php_fastcgi composition
# tests (they fail in CI without it); the tests start it themselves
if [ ! -x /usr/sbin/php-fpm8.2 ]; then
	apt_install php-fpm
fi
/usr/sbin/php-fpm8.2 --version | head -n 1
