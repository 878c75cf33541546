#!/usr/bin/env bash
# Load comparison of explain_errors against Caddy without it.
#
# Builds ./cmd/caddy and bench/upstream into a temporary directory, starts
# the upstream (/ok: a 200 of 1 KiB, /conflict: an empty 409) and one Caddy
# with these sites, all on loopback:
#
#   plain      reverse_proxy
#   explain    explain_errors (its records go to a JSON file) + reverse_proxy
#   hr         reverse_proxy with handle_response: for a 409, file_server
#              sends a file holding the explain site's own page (the same
#              bytes, fetched from it once the sites are up)
#   nolog      explain_errors { log off } + reverse_proxy: the page, no record
#   acclog     plain, with Caddy's access log to a file: what one access-log
#              line costs, against what one conflict record costs
#   hracclog   hr, with Caddy's access log to a file: Caddy's own parts
#              doing what an explained 409 does (the same page and one log
#              line per response)
#   plainenc   encode gzip zstd + reverse_proxy
#   explainenc encode gzip zstd + explain_errors + reverse_proxy
#
# Every log file has roll_disabled: Caddy gzips a rolled file in its own
# process, which would land on whatever is measured at the time.
#
# Every request carries a browser's Accept and Accept-Language, so the
# explained 409 is the full HTML page; explain409json asks the explain site
# for problem+json instead. The *enc targets also send a browser's
# Accept-Encoding (gzip, deflate, br, zstd).
#
# and drives each with wrk, in alternating order, ROUNDS rounds of DURATION
# seconds per target. It prints the median requests/s of each target and
# the median of the per-round ratios. Everything it starts is stopped on
# exit.
#
# Usage: bench/load.sh            (from anywhere; needs go, wrk and curl)
# Env:   ROUNDS=5 DURATION=4 CONNS=16 THREADS=1
#
# wrk is Debian's package: apt-get install -y wrk
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}

# every loop below is bounded by these
if ((ROUNDS < 1 || ROUNDS > 20 || DURATION < 1 || DURATION > 30 || CONNS < 1 || CONNS > 256 || THREADS < 1 || THREADS > 8)); then
	echo "load.sh: ROUNDS 1-20, DURATION 1-30 s, CONNS 1-256, THREADS 1-8" >&2
	exit 2
fi
for tool in go wrk curl; do
	if ! command -v "$tool" >/dev/null; then
		hint=""
		[[ $tool == wrk ]] && hint=" (Debian: apt-get install -y wrk)"
		echo "load.sh: $tool not found$hint" >&2
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/explain-load.XXXXXX)
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== explain_errors load comparison"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "go:       $(go version)"
echo "wrk:      $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "settings: ROUNDS=$ROUNDS DURATION=${DURATION}s CONNS=$CONNS THREADS=$THREADS"
echo

echo "-- building"
(cd "$ROOT" && go build -o "$TMP/caddy" ./cmd/caddy && go build -o "$TMP/upstream" ./bench/upstream)

mapfile -t PORTS < <("$TMP/upstream" -free 9)
UP=${PORTS[0]} P_PLAIN=${PORTS[1]} P_EXPLAIN=${PORTS[2]} P_HR=${PORTS[3]} P_NOLOG=${PORTS[4]}
P_ACCLOG=${PORTS[5]} P_PLAINENC=${PORTS[6]} P_EXPLAINENC=${PORTS[7]} P_HRACCLOG=${PORTS[8]}

"$TMP/upstream" -addr "127.0.0.1:$UP" >"$TMP/upstream.out" 2>&1 &
PIDS+=($!)

# the hr site's page: a stand-in until the explain site's own page is
# fetched into it below (file_server reads the file per request)
mkdir -p "$TMP/hr"
echo '<!doctype html><title>409</title>' >"$TMP/hr/409.html"
LOG="$TMP/explain.log"
ACCLOG="$TMP/access.log"
HRACCLOG="$TMP/hr-access.log"
cat >"$TMP/Caddyfile" <<EOF
{
	admin off
	auto_https off
	persist_config off
	log explain {
		output file $LOG {
			roll_disabled
		}
		format json
		include http.handlers.explain_errors
	}
	log default {
		output stderr
		exclude http.handlers.explain_errors
		level ERROR
	}
}
# the hr sites' proxy: a 409 is answered by file_server with the page
(hr_proxy) {
	reverse_proxy 127.0.0.1:$UP {
		@c status 409
		handle_response @c {
			root * $TMP/hr
			rewrite * /409.html
			file_server {
				status 409
			}
		}
	}
}
http://127.0.0.1:$P_PLAIN {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$P_EXPLAIN {
	bind 127.0.0.1
	explain_errors
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$P_HR {
	bind 127.0.0.1
	import hr_proxy
}
http://127.0.0.1:$P_ACCLOG {
	bind 127.0.0.1
	log {
		output file $ACCLOG {
			roll_disabled
		}
		format json
	}
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$P_HRACCLOG {
	bind 127.0.0.1
	log {
		output file $HRACCLOG {
			roll_disabled
		}
		format json
	}
	import hr_proxy
}
http://127.0.0.1:$P_PLAINENC {
	bind 127.0.0.1
	encode gzip zstd
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$P_EXPLAINENC {
	bind 127.0.0.1
	encode gzip zstd
	explain_errors
	reverse_proxy 127.0.0.1:$UP
}
http://127.0.0.1:$P_NOLOG {
	bind 127.0.0.1
	explain_errors {
		log off
	}
	reverse_proxy 127.0.0.1:$UP
}
EOF

mkdir -p "$TMP/home"
HOME="$TMP/home" XDG_DATA_HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home" \
	"$TMP/caddy" run --config "$TMP/Caddyfile" --adapter caddyfile >"$TMP/caddy.out" 2>&1 &
CADDY_PID=$!
PIDS+=("$CADDY_PID")

# wait, at most 20 s, until the upstream and every site answer
for port in "$UP" "$P_PLAIN" "$P_EXPLAIN" "$P_HR" "$P_NOLOG" "$P_ACCLOG" "$P_PLAINENC" "$P_EXPLAINENC" "$P_HRACCLOG"; do
	for ((i = 0; ; i++)); do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/ok"; then
			break
		fi
		if ((i >= 200)) || ! kill -0 "$CADDY_PID" 2>/dev/null; then
			echo "load.sh: port $port did not answer" >&2
			cat "$TMP/caddy.out" "$TMP/upstream.out" >&2
			exit 1
		fi
		sleep 0.1
	done
done

# the same request headers for every target: a browser's
ACCEPT='text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
ACCEPT_LANGUAGE='en-US,en;q=0.9'
ACCEPT_ENCODING='gzip, deflate, br, zstd'

# check NAME URL STATUS MIN_BYTES MAX_BYTES TYPE_PREFIX [ENCODING]: one
# request, to show that each site answers what it is meant to before it is
# measured; with ENCODING, the request accepts a browser's codings and the
# answer must be in ENCODING
check() {
	local got code size ctype enc ae=()
	[[ -n ${7:-} ]] && ae=(-H "Accept-Encoding: $ACCEPT_ENCODING")
	got=$(curl -s -o "$TMP/body" -D "$TMP/head" -w '%{http_code} %{size_download} %{content_type}' \
		-H "Accept: $ACCEPT" -H "Accept-Language: $ACCEPT_LANGUAGE" "${ae[@]}" "$2")
	read -r code size ctype <<<"$got"
	enc=$(awk -F': *' 'tolower($1) == "content-encoding" {gsub(/\r/, "", $2); print $2}' "$TMP/head")
	if [[ $code != "$3" ]] || ((size < $4 || size > $5)) || [[ ${ctype:-} != "$6"* ]] || [[ $enc != "${7:-}" ]]; then
		echo "load.sh: $1 $2: got $got, encoding '$enc'; want $3, $4-$5 bytes, type $6, encoding '${7:-}'" >&2
		exit 1
	fi
	printf '  %-14s %s -> %s, %s bytes, %s%s\n' "$1" "${2#http://127.0.0.1:}" "$code" "$size" "${ctype:-no type}" "${enc:+, $enc}"
}
echo "-- checking the sites"
# the hr site serves the explain site's page, byte for byte in size (the
# request id and time differ); this request's record is counted below
curl -s -o "$TMP/hr/409.html" -H "Accept: $ACCEPT" -H "Accept-Language: $ACCEPT_LANGUAGE" "http://127.0.0.1:$P_EXPLAIN/conflict"
PAGE_BYTES=$(wc -c <"$TMP/hr/409.html")
check plain200 "http://127.0.0.1:$P_PLAIN/ok" 200 1024 1024 text/plain
check explain200 "http://127.0.0.1:$P_EXPLAIN/ok" 200 1024 1024 text/plain
check plain409 "http://127.0.0.1:$P_PLAIN/conflict" 409 0 0 ""
check explain409 "http://127.0.0.1:$P_EXPLAIN/conflict" 409 1000 100000 text/html
check hr409 "http://127.0.0.1:$P_HR/conflict" 409 "$PAGE_BYTES" "$PAGE_BYTES" text/html
check nolog409 "http://127.0.0.1:$P_NOLOG/conflict" 409 1000 100000 text/html
ACCEPT_JSON='application/problem+json, application/json;q=0.9'
ACCEPT=$ACCEPT_JSON check explain409json "http://127.0.0.1:$P_EXPLAIN/conflict" 409 200 100000 application/problem+json
check acclog409 "http://127.0.0.1:$P_ACCLOG/conflict" 409 0 0 ""
check hracclog409 "http://127.0.0.1:$P_HRACCLOG/conflict" 409 "$PAGE_BYTES" "$PAGE_BYTES" text/html
check plainenc409 "http://127.0.0.1:$P_PLAINENC/conflict" 409 0 0 "" ""
check explainenc409 "http://127.0.0.1:$P_EXPLAINENC/conflict" 409 300 100000 text/html zstd
for ((i = 0; i < 50 && $(wc -l <"$LOG" 2>/dev/null || echo 0) < 4; i++)); do sleep 0.1; done
if [[ $(wc -l <"$LOG") != 4 ]]; then
	echo "load.sh: want exactly four records after the checks, have $(wc -l <"$LOG")" >&2
	exit 1
fi
echo "  four records in the log file (the hr page's fetch, explain409, explain409json, explainenc409), as it should be"
echo

declare -A URL=(
	[plain200]="http://127.0.0.1:$P_PLAIN/ok"
	[explain200]="http://127.0.0.1:$P_EXPLAIN/ok"
	[plain409]="http://127.0.0.1:$P_PLAIN/conflict"
	[explain409]="http://127.0.0.1:$P_EXPLAIN/conflict"
	[hr409]="http://127.0.0.1:$P_HR/conflict"
	[nolog409]="http://127.0.0.1:$P_NOLOG/conflict"
	[explain409json]="http://127.0.0.1:$P_EXPLAIN/conflict"
	[acclog409]="http://127.0.0.1:$P_ACCLOG/conflict"
	[hracclog409]="http://127.0.0.1:$P_HRACCLOG/conflict"
	[plainenc409]="http://127.0.0.1:$P_PLAINENC/conflict"
	[explainenc409]="http://127.0.0.1:$P_EXPLAINENC/conflict"
)
TARGETS=(plain200 explain200 plain409 explain409 hr409 nolog409 explain409json acclog409 hracclog409 plainenc409 explainenc409)
RESULTS="$TMP/results" # lines: round target rps requests cpu-us/request errors
: >"$RESULTS"
EXPLAIN409_REQUESTS=0

# Caddy's CPU time so far, in clock ticks: requests/s moves with whatever
# else the machine runs, Caddy's CPU time per request much less
CLK_TCK=$(getconf CLK_TCK)
caddy_ticks() { awk '{print $14 + $15}' "/proc/$CADDY_PID/stat"; }

# run ROUND TARGET SECONDS: one wrk run; ROUND 0 is the warm-up
run() {
	local out rps reqs errs t0 t1 cpu accept=$ACCEPT ae=()
	[[ $2 == explain409json ]] && accept=$ACCEPT_JSON
	[[ $2 == *enc* ]] && ae=(-H "Accept-Encoding: $ACCEPT_ENCODING")
	t0=$(caddy_ticks)
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$3s" --timeout 5s \
		-H "Accept: $accept" -H "Accept-Language: $ACCEPT_LANGUAGE" "${ae[@]}" "${URL[$2]}")
	t1=$(caddy_ticks)
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	errs=$(awk '/Socket errors:/ {s = $0; sub(/.*Socket errors: */, "", s); print s}' <<<"$out")
	if [[ -z $rps || -z $reqs ]]; then
		echo "load.sh: wrk gave no figures for $2:" >&2
		echo "$out" >&2
		exit 1
	fi
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN {printf "%.1f", (n > 0 ? d / hz * 1e6 / n : 0)}')
	if [[ $2 == explain409 || $2 == explain409json || $2 == explainenc409 ]]; then
		EXPLAIN409_REQUESTS=$((EXPLAIN409_REQUESTS + reqs))
	fi
	if ((${1} > 0)); then
		echo "$1 $2 $rps $reqs $cpu ${errs:-none}" >>"$RESULTS"
	fi
	printf '  round %d  %-14s %10.0f req/s  %8d requests  %6.1f us Caddy CPU/request%s\n' "$1" "$2" "$rps" "$reqs" "$cpu" "${errs:+  socket errors: $errs}"
}

echo "-- warm-up (2 s each, not counted)"
for t in "${TARGETS[@]}"; do run 0 "$t" 2; done
echo
echo "-- measuring: $ROUNDS rounds x ${#TARGETS[@]} targets x ${DURATION}s, order reversed every other round"
for ((r = 1; r <= ROUNDS; r++)); do
	order=("${TARGETS[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do order+=("${TARGETS[i]}"); done
	fi
	for t in "${order[@]}"; do run "$r" "$t" "$DURATION"; done
done
echo

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
rps_of() { awk -v t="$1" '$2 == t {print $3}' "$RESULTS" | median; }
cpu_of() { awk -v t="$1" '$2 == t {print $5}' "$RESULTS" | median; }
# ratio A B [COLUMN]: the median over rounds of A's req/s (or the column
# given) over B's in the same round
ratio() {
	awk -v a="$1" -v b="$2" -v c="${3:-3}" '$2 == a {x[$1] = $c} $2 == b {y[$1] = $c} END {for (r in x) if (r in y && y[r] > 0) print x[r] / y[r]}' "$RESULTS" | median
}
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v >= t ? "met" : "MISSED")}'; }

echo "-- medians over $ROUNDS rounds"
printf '  %-14s %10s  %s\n' target "req/s" "Caddy CPU us/request"
for t in "${TARGETS[@]}"; do
	printf '  %-14s %10.0f  %6.1f\n' "$t" "$(rps_of "$t")" "$(cpu_of "$t")"
done
echo
r200=$(ratio explain200 plain200)
r409=$(ratio explain409 plain409)
rhr=$(ratio explain409 hr409)
rhra=$(ratio explain409 hracclog409)
rhrp=$(ratio hracclog409 plain409)
rlog=$(ratio explain409 nolog409)
rjson=$(ratio explain409json plain409)
renc=$(ratio explainenc409 plainenc409)
cenc=$(ratio plainenc409 explainenc409 5)
# the same from Caddy's CPU time: B's CPU per request over A's is the
# throughput ratio A/B of a Caddy that has the CPUs to itself
c200=$(ratio plain200 explain200 5)
c409=$(ratio plain409 explain409 5)
chr=$(ratio hr409 explain409 5)
chra=$(ratio hracclog409 explain409 5)
chrp=$(ratio plain409 hracclog409 5)
cjson=$(ratio plain409 explain409json 5)
clog=$(ratio nolog409 explain409 5)
echo "-- median ratios (per round, then the median)"
echo "  from requests/s (wrk, with everything on the machine sharing 2 CPUs):"
printf '  explain 200 / plain 200                       %.3f  (target >= 0.98: %s)\n' "$r200" "$(verdict "$r200" 0.98)"
printf '  explain 409 page+record / plain empty 409     %.3f  (target >= 0.90: %s)\n' "$r409" "$(verdict "$r409" 0.90)"
printf '  the same, both behind encode gzip zstd        %.3f  (target >= 0.85: %s)\n' "$renc" "$(verdict "$renc" 0.85)"
printf '  explain 409 page+record / handle_response 409 %.3f  (target >= 1.0: %s; the same %s bytes)\n' "$rhr" "$(verdict "$rhr" 1.0)" "$PAGE_BYTES"
printf '  explain 409 page+record / handle_response 409 with an access-log line  %.3f  (Caddy'"'"'s own parts doing the same)\n' "$rhra"
printf '  handle_response 409 with an access-log line / plain empty 409           %.3f  (what Caddy'"'"'s own parts reach)\n' "$rhrp"
printf '  explain 409 problem+json+record / plain 409   %.3f\n' "$rjson"
printf '  explain 409 page+record / page, log off       %.3f  (the record to a file costs %.1f%% of 409 throughput)\n' "$rlog" "$(awk -v r="$rlog" 'BEGIN {print (1 - r) * 100}')"
echo "  from Caddy's CPU time per request (plain's over explain's: the capacity ratio):"
printf '  explain 200 / plain 200                       %.3f  (target >= 0.98: %s)\n' "$c200" "$(verdict "$c200" 0.98)"
printf '  explain 409 page+record / plain empty 409     %.3f  (target >= 0.90: %s)\n' "$c409" "$(verdict "$c409" 0.90)"
printf '  the same, both behind encode gzip zstd        %.3f  (target >= 0.85: %s)\n' "$cenc" "$(verdict "$cenc" 0.85)"
printf '  explain 409 page+record / handle_response 409 %.3f  (target >= 1.0: %s)\n' "$chr" "$(verdict "$chr" 1.0)"
printf '  explain 409 page+record / handle_response 409 with an access-log line  %.3f\n' "$chra"
printf '  handle_response 409 with an access-log line / plain empty 409           %.3f\n' "$chrp"
printf '  explain 409 problem+json+record / plain 409   %.3f\n' "$cjson"
printf '  explain 409 page+record / page, log off       %.3f  (the record to a file costs %.1f%% of 409 capacity)\n' "$clog" "$(awk -v r="$clog" 'BEGIN {print (1 - r) * 100}')"
# what one conflict record costs (explain409 - nolog409) against what one
# access-log line costs (acclog409 - plain409), in Caddy CPU per request:
# medians over rounds of the per-round differences
diff_of() {
	awk -v a="$1" -v b="$2" '$2 == a {x[$1] = $5} $2 == b {y[$1] = $5} END {for (r in x) if (r in y) print x[r] - y[r]}' "$RESULTS" | median
}
rec_cost=$(diff_of explain409 nolog409)
acc_cost=$(diff_of acclog409 plain409)
printf '  one conflict record: %.1f us Caddy CPU; one access-log line: %.1f us  (target: record <= line: %s)\n' \
	"$rec_cost" "$acc_cost" "$(awk -v r="$rec_cost" -v a="$acc_cost" 'BEGIN {print (r <= a ? "met" : "MISSED")}')"
echo

# the records: one per 409 of the explain site (the check's, the warm-up's
# and the measured ones), and a few more for the requests in flight when
# wrk stopped, which Caddy answered but wrk did not count; give Caddy a
# moment to write the last
sleep 1
records=$(wc -l <"$LOG")
want=$((EXPLAIN409_REQUESTS + 4))
bytes=$(wc -c <"$LOG")
echo "-- the conflict log"
echo "  records written: $records for $want explained 409s that wrk counted (it leaves up to $CONNS a run uncounted)"
echo "  $((bytes / (records > 0 ? records : 1))) bytes a record, $((bytes / 1024)) KiB in all"
if ((records < want)); then
	echo "load.sh: fewer records than explained 409s" >&2
	exit 1
fi
errors=$(awk '$6 != "none"' "$RESULTS" | wc -l)
echo "  wrk runs with socket errors: $errors"
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes' load skews every figure)"
if [[ -s $TMP/caddy.out ]]; then
	echo "  caddy's own log (ERROR and above):"
	sed 's/^/    /' "$TMP/caddy.out" | head -20
fi
