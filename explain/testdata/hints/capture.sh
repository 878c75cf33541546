#!/usr/bin/env bash
# Captures the request and response header facts of precondition and WebDAV
# exchanges with Debian's Apache httpd (mod_dav, mod_deflate) and nginx (dav,
# gzip), for TestHintFromCapturedServers. Run it from anywhere:
#
#	bash explain/testdata/hints/capture.sh
#
# It writes apache.txt and nginx.txt beside itself: per exchange the case
# name, the request line and headers sent ("> "), the status line and
# headers received ("< "). Needs apache2, nginx and curl; runs both servers
# on 127.0.0.1 in a temporary directory and stops them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp"/apache.pid "$tmp"/nginx.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/dav" "$tmp/lock" "$tmp/ngx/dav" "$tmp/ngx/tmp"
user=$(id -un)
[ "$user" = root ] && user=www-data
chown -R "$user" "$tmp" 2>/dev/null || true
chmod 755 "$tmp"

mods=/usr/lib/apache2/modules
cat >"$tmp/httpd.conf" <<CONF
ServerRoot "$tmp"
ServerName dav.test
Listen 127.0.0.1:18081
PidFile $tmp/apache.pid
ErrorLog $tmp/apache-error.log
User $user
Group $(id -gn "$user")
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule filter_module $mods/mod_filter.so
LoadModule deflate_module $mods/mod_deflate.so
LoadModule dav_module $mods/mod_dav.so
LoadModule dav_fs_module $mods/mod_dav_fs.so
TypesConfig /etc/mime.types
DavLockDB $tmp/lock/DavLock
DocumentRoot "$tmp/dav"
<Directory "$tmp/dav">
  Dav On
  Require all granted
  AddOutputFilterByType DEFLATE text/plain
</Directory>
CONF
apache2 -f "$tmp/httpd.conf" -k start

cat >"$tmp/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user $user;" )
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/ngx/tmp;
  types { text/plain txt; }
  server {
    listen 127.0.0.1:18082;
    server_name dav.test;
    root $tmp/ngx/dav;
    dav_methods PUT DELETE MKCOL COPY MOVE;
    gzip on;
    gzip_min_length 1;
    gzip_types text/plain;
  }
}
CONF
nginx -c "$tmp/nginx.conf" -p "$tmp"
sleep 1

# exchange NAME METHOD URL [HEADER...]: one request, its facts appended to $out
exchange() {
  local name=$1 method=$2 url=$3; shift 3
  local args=(-s -o /dev/null -D - -X "$method" -H "Host: $host")
  for h in "$@"; do args+=(-H "$h"); done
  case $method in PUT) args+=(--data-binary "$name body text, long enough to compress well, long enough to compress well") ;; esac
  case $method in LOCK) args+=(-H "Content-Type: application/xml" --data-binary '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>capture</D:owner></D:lockinfo>') ;; esac
  {
    echo "case $name"
    echo "> $method ${url#http://127.0.0.1:*/}"
    echo "> Host: $host"
    for h in "$@"; do echo "> $h"; done
    curl "${args[@]}" "$url" | tr -d '\r' | grep -v '^$' | grep -iv '^date:' | sed 's/^/< /'
    echo
  } >>"$out"
}
# header NAME URL [HEADER...]: one header value of a GET
header() { curl -s -o /dev/null -D - -H "Host: $host" "${@:3}" "$2" | tr -d '\r' | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }

a=http://127.0.0.1:18081
# mod_dav compares Destination's port with its own, so the Host names it
host=dav.test:18081
out=$here/apache.txt
echo "# $(apache2 -v | head -1 | cut -d' ' -f3-) (mod_dav, mod_dav_fs, mod_deflate on text/plain), captured by capture.sh" >"$out"
exchange apache-put-create PUT "$a/doc.txt" "Content-Type: text/plain"
# Apache makes an ETag weak while the file is less than a second old
sleep 2
getag=$(header ETag "$a/doc.txt" -H "Accept-Encoding: gzip")
exchange apache-get-gzip GET "$a/doc.txt" "Accept-Encoding: gzip"
exchange apache-put-stale-if-match PUT "$a/doc.txt" 'If-Match: "0-stale"'
exchange apache-put-gzip-etag-if-match PUT "$a/doc.txt" "If-Match: $getag"
etag=$(header ETag "$a/doc.txt")
exchange apache-put-if-match-weak PUT "$a/doc.txt" "If-Match: W/${etag#W/}"
exchange apache-put-if-none-match-star PUT "$a/doc.txt" "If-None-Match: *"
exchange apache-put-if-match-star-missing PUT "$a/nothing.txt" "If-Match: *"
exchange apache-put-if-unmodified-since-old PUT "$a/doc.txt" "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT"
etag=$(header ETag "$a/doc.txt")
exchange apache-get-if-none-match-current GET "$a/doc.txt" "If-None-Match: $etag"
exchange apache-mkcol-missing-parent MKCOL "$a/no/such/"
exchange apache-put-missing-parent PUT "$a/no/such/file.txt"
exchange apache-copy-other-scheme COPY "$a/doc.txt" "Destination: https://dav.test:18081/copy.txt"
exchange apache-copy-other-host COPY "$a/doc.txt" "Destination: http://other.test/copy.txt"
exchange apache-put-second PUT "$a/two.txt"
exchange apache-copy-overwrite-f COPY "$a/doc.txt" "Destination: http://dav.test:18081/two.txt" "Overwrite: F"
exchange apache-propfind-depth-infinity PROPFIND "$a/" "Depth: infinity"
exchange apache-lock LOCK "$a/doc.txt" "Timeout: Second-600"
exchange apache-lock-again LOCK "$a/doc.txt" "Timeout: Second-600"
exchange apache-put-locked-no-token PUT "$a/doc.txt"
exchange apache-put-locked-lock-token-header PUT "$a/doc.txt" "Lock-Token: <opaquelocktoken:00000000-0000-0000-0000-000000000000>"
exchange apache-put-locked-wrong-if PUT "$a/doc.txt" "If: (<opaquelocktoken:00000000-0000-0000-0000-000000000000>)"

n=http://127.0.0.1:18082
host=dav.test
out=$here/nginx.txt
echo "# $(nginx -v 2>&1 | cut -d' ' -f3-) (dav_methods, gzip on text/plain), captured by capture.sh" >"$out"
exchange nginx-put-create PUT "$n/doc.txt"
sleep 1
exchange nginx-get-gzip GET "$n/doc.txt" "Accept-Encoding: gzip"
wtag=$(header ETag "$n/doc.txt" -H "Accept-Encoding: gzip")
etag=$(header ETag "$n/doc.txt")
exchange nginx-get-if-match-weakened GET "$n/doc.txt" "If-Match: $wtag"
exchange nginx-get-if-match-stale GET "$n/doc.txt" 'If-Match: "0-stale"'
exchange nginx-put-missing-parent PUT "$n/no/such/file.txt"
exchange nginx-mkcol-missing-parent MKCOL "$n/no/such/"
exchange nginx-copy-other-host COPY "$n/doc.txt" "Destination: http://other.test/copy.txt"
exchange nginx-put-second PUT "$n/two.txt"
exchange nginx-copy-overwrite-f COPY "$n/doc.txt" "Destination: http://dav.test/two.txt" "Overwrite: F"
exchange nginx-get-if-unmodified-since-old GET "$n/doc.txt" "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT"
echo "wrote $here/apache.txt $here/nginx.txt"
