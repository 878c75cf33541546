# median.awk: medians of `go test -bench -count N` output, one line per
# benchmark: ns/op, cpu-ns/op, B/op and allocs/op.
#
#	go test -run '^$' -bench . -benchmem -count 5 ./caddymodule | awk -f bench/median.awk
/^Benchmark/ {
	name = $1
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	for (i = 3; i < NF; i++) {
		unit = $(i + 1)
		if (unit == "ns/op" || unit == "cpu-ns/op" || unit == "B/op" || unit == "allocs/op") {
			k = name SUBSEP unit
			cnt[k]++
			val[k, cnt[k]] = $i
		}
	}
}
function median(k,    m, i, j, t, a) {
	m = cnt[k]
	if (m == 0) return "-"
	for (i = 1; i <= m; i++) a[i] = val[k, i] + 0
	for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	printf "%-44s %10s %10s %8s %9s  (medians of %d runs)\n", "benchmark", "ns/op", "cpu-ns/op", "B/op", "allocs/op", cnt[order[1] SUBSEP "ns/op"]
	for (i = 1; i <= n; i++) {
		nm = order[i]
		printf "%-44s %10s %10s %8s %9s\n", nm, median(nm SUBSEP "ns/op"), median(nm SUBSEP "cpu-ns/op"), median(nm SUBSEP "B/op"), median(nm SUBSEP "allocs/op")
	}
}
