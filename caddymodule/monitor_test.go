package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// clock is a time that tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestMonitor(records, groups int) (*monitor, *clock, *Handler) {
	c := &clock{t: time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)}
	m := newMonitor(c.now)
	h := new(Handler)
	m.attach(h, records, groups)
	return m, c, h
}

func addN(m *monitor, c *clock, key groupKey, hint string, n int) {
	for range n {
		m.add(c.now(), key, hint, []byte(fmt.Sprintf(`{"status":%d,"n":%d}`, key.status, m.total)))
	}
}

func TestMonitorWindowsCountTheLastMinuteAndHourExactly(t *testing.T) {
	m, c, _ := newTestMonitor(10, 10)
	k := groupKey{server: "srv0", host: "shop", method: "PUT", route: "/orders/:id", status: 409}
	addN(m, c, k, "a", 3) // at 15:04:00
	c.t = c.t.Add(30 * time.Second)
	addN(m, c, k, "a", 2) // at 15:04:30
	check := func(when string, minute, hour, total uint64) {
		t.Helper()
		s := m.summary(filter{limit: 10})
		if len(s.Groups) != 1 {
			t.Fatalf("%s: %d groups", when, len(s.Groups))
		}
		g := s.Groups[0]
		if g.LastMinute != minute || g.LastHour != hour || g.Total != total {
			t.Errorf("%s: minute %d hour %d total %d, want %d %d %d", when, g.LastMinute, g.LastHour, g.Total, minute, hour, total)
		}
	}
	check("at once", 5, 5, 5)
	c.t = c.t.Add(29 * time.Second) // 15:04:59: both seconds are within the last 60
	check("29s later", 5, 5, 5)
	c.t = c.t.Add(time.Second) // 15:05:00: second :00 of 15:04 has left the minute
	check("60s after the first", 2, 5, 5)
	c.t = c.t.Add(30 * time.Second) // 15:05:30
	check("60s after the second", 0, 5, 5)
	c.t = c.t.Add(58 * time.Minute) // 16:03:30: minute 15:04 is the 59th before this one
	check("58 minutes on", 0, 5, 5)
	c.t = c.t.Add(time.Minute) // 16:04:30: minute 15:04 has left the hour
	check("an hour on", 0, 0, 5)
	addN(m, c, k, "a", 1)
	check("a new one after the hour", 1, 1, 6)
	c.t = c.t.Add(24 * time.Hour)
	check("a day on", 0, 0, 6)
}

func TestMonitorEvictsLeastRecentlySeenGroupsAndCountsThem(t *testing.T) {
	m, c, _ := newTestMonitor(5, 3)
	key := func(i int) groupKey {
		c.t = c.t.Add(time.Second)
		return groupKey{host: "h", method: "GET", route: fmt.Sprintf("/r%d", i), status: 409}
	}
	addN(m, c, key(0), "x", 1)
	addN(m, c, key(1), "x", 1)
	addN(m, c, key(2), "x", 1)
	addN(m, c, key(0), "x", 1) // /r0 is now the most recent
	addN(m, c, key(3), "x", 1) // evicts /r1
	addN(m, c, key(4), "x", 1) // evicts /r2
	s := m.summary(filter{limit: 100})
	var routes []string
	for _, g := range s.Groups {
		routes = append(routes, g.Route)
	}
	if got := strings.Join(routes, " "); got != "/r0 /r4 /r3" {
		t.Errorf("groups %q, want /r0 (2 conflicts) then /r4 /r3", got)
	}
	if s.GroupsEvicted != 2 || s.GroupsKept != 3 || s.Total != 6 || s.RecordsKept != 5 {
		t.Errorf("evicted %d kept %d total %d records %d, want 2 3 6 5", s.GroupsEvicted, s.GroupsKept, s.Total, s.RecordsKept)
	}
}

func TestMonitorRecentIsNewestFirstAndFiltered(t *testing.T) {
	m, c, _ := newTestMonitor(4, 10)
	for i, st := range []int{409, 412, 409, 423, 412, 409} {
		c.t = c.t.Add(time.Second)
		host := "a.example"
		if i%2 == 1 {
			host = "b.example:8080"
		}
		m.add(c.now(), groupKey{host: host, status: st}, "", []byte(fmt.Sprintf(`{"i":%d}`, i)))
	}
	got := func(f filter) string {
		var out []string
		for _, r := range m.recent(f) {
			out = append(out, string(r))
		}
		return strings.Join(out, "")
	}
	s409, _ := parseStatuses([]string{"409"})
	s4xx, _ := parseStatuses([]string{"4xx"})
	for _, tc := range []struct {
		name string
		f    filter
		want string
	}{
		{"the ring keeps the last 4", filter{limit: 50}, `{"i":5}{"i":4}{"i":3}{"i":2}`},
		{"limit", filter{limit: 2}, `{"i":5}{"i":4}`},
		{"status", filter{limit: 50, status: &s409}, `{"i":5}{"i":2}`},
		{"class", filter{limit: 50, status: &s4xx}, `{"i":5}{"i":4}{"i":3}{"i":2}`},
		{"host without port", filter{limit: 50, host: "b.example"}, `{"i":5}{"i":3}`},
		{"host with port", filter{limit: 50, host: "b.example:8080"}, `{"i":5}{"i":3}`},
		{"other host", filter{limit: 50, host: "a.example"}, `{"i":4}{"i":2}`},
		{"since", filter{limit: 50, since: c.t.Add(-time.Second)}, `{"i":5}{"i":4}`},
	} {
		if g := got(tc.f); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, g, tc.want)
		}
	}
}

func TestMonitorTakesTheLargestSizeOfItsHandlers(t *testing.T) {
	m, c, h1 := newTestMonitor(3, 2)
	h2 := new(Handler)
	m.attach(h2, 6, 1)
	for i := range 8 {
		addN(m, c, groupKey{route: fmt.Sprint("/", i), status: 409}, "", 1)
	}
	if s := m.summary(filter{limit: 100}); s.RecordsCap != 6 || s.GroupsCap != 2 || s.RecordsKept != 6 || s.GroupsKept != 2 || s.GroupsEvicted != 6 {
		t.Fatalf("with 3/2 and 6/1: %+v", s)
	}
	// the handler that asked for 6 records goes, as in a reload: the ring
	// shrinks to the 3 newest
	m.detach(h2)
	s := m.summary(filter{limit: 100})
	if s.RecordsCap != 3 || s.RecordsKept != 3 {
		t.Errorf("after the larger handler left: capacity %d kept %d, want 3 3", s.RecordsCap, s.RecordsKept)
	}
	var got []string
	for _, r := range m.recent(filter{limit: 10}) {
		var v struct{ N int }
		_ = json.Unmarshal(r, &v)
		got = append(got, fmt.Sprint(v.N))
	}
	if strings.Join(got, " ") != "7 6 5" {
		t.Errorf("after shrinking, records %v, want the newest 7 6 5", got)
	}
	m.detach(h1)
}

func TestMonitorHintsAreBoundedPerGroup(t *testing.T) {
	m, c, _ := newTestMonitor(1, 1)
	k := groupKey{status: 412}
	for i := range 10 {
		addN(m, c, k, fmt.Sprint("hint ", i), i+1)
	}
	g := m.summary(filter{limit: 1}).Groups[0]
	if len(g.Hints) != hintsPerGroup || g.Hints[0].Hint != "hint 3" || g.Hints[0].Count != 4 {
		t.Errorf("hints %+v", g.Hints)
	}
	// 1+2+3+4 counted by hint, 5+...+10 as other
	if g.OtherHints != 45 || g.Total != 55 {
		t.Errorf("other %d total %d, want 45 55", g.OtherHints, g.Total)
	}
}

func TestFoldRouteFoldsIDLikeSegments(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/":                    "/",
		"/orders/1234":         "/orders/:id",
		"/orders/1234/items/7": "/orders/:id/items/:id",
		"/u/550e8400-e29b-41d4-a716-446655440000/doc": "/u/:id/doc",
		"/blob/0123456789abcdef0123":                  "/blob/:id",
		"/blob/0123456789abcde":                       "/blob/0123456789abcde", // 15 hex digits: a word
		"/cafe/beef":                                  "/cafe/beef",
		"/v2/api":                                     "/v2/api",
		"/files/report.pdf":                           "/files/report.pdf",
		"/a%20b/42":                                   "/a%20b/:id",
	} {
		if got := foldRoute(in); got != want {
			t.Errorf("foldRoute(%q) = %q, want %q", in, got, want)
		}
	}
	long := foldRoute("/" + strings.Repeat("x", 5000))
	if len(long) > maxKeyBytes || !strings.HasSuffix(long, "…") {
		t.Errorf("a long path folds to %d bytes: %q", len(long), long[:20])
	}
}

func TestParseFilterNamesTheBadParameter(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, q := range []string{"limit=0", "limit=x", "limit=-1", "status=200", "status=4x", "since=yesterday", "since=-5m", "host=", "limit=1&limit=2", "sort=asc"} {
		vals, _ := url.ParseQuery(q)
		_, err := parseFilter(vals, 50, now)
		name, _, _ := strings.Cut(q, "=")
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming %s", q, err, name)
		}
	}
	vals, _ := url.ParseQuery("limit=7&status=4xx&host=Shop.Example&since=15m")
	f, err := parseFilter(vals, 50, now)
	if err != nil || f.limit != 7 || !f.status.has(499) || f.host != "shop.example" || !f.since.Equal(now.Add(-15*time.Minute)) {
		t.Errorf("good query: %+v %v", f, err)
	}
	vals, _ = url.ParseQuery("since=2026-01-02T15:00:00Z")
	if f, err := parseFilter(vals, 50, now); err != nil || !f.since.Equal(now.Add(-4*time.Minute-5*time.Second)) {
		t.Errorf("RFC 3339 since: %v %v", f.since, err)
	}
}

// TestMonitorMemoryIsBoundedUnder100000UniquePaths drives 100,000
// conflicts with unique paths (that do not fold) through the store and
// measures the heap it keeps. It logs the bytes per record and per group
// that the README quotes: go test -run TestMonitorMemory -v ./caddymodule
// heap is the live heap after two collections.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMonitorMemoryIsBoundedUnder100000UniquePaths(t *testing.T) {
	const n = 100_000
	// a record as the handler encodes it for a typical request
	h := new(Handler)
	rec := sampleRecord(t)

	measure := func(records, groups int) (*monitor, uint64) {
		before := heap()
		m := newMonitor(time.Now)
		m.attach(h, records, groups)
		for i := range n {
			route := foldRoute(fmt.Sprintf("/wiki/page-%d-x", i))
			key := groupKey{server: "srv0", host: "wiki.example.com", method: "PUT", route: route, status: 409}
			// a copy per conflict, as monitorRecord makes one
			m.add(time.Now(), key, "PUT answered 409: the target conflicts with the resource's current state", append([]byte(nil), rec...))
		}
		after := heap()
		return m, after - min(after, before)
	}
	m, small := measure(1, 1)
	s := m.summary(filter{limit: maxMonitorGroups})
	if s.Total != n || s.GroupsKept != 1 || s.GroupsEvicted != n-1 || s.RecordsKept != 1 {
		t.Fatalf("1/1: %+v", s)
	}
	runtime.KeepAlive(m)
	m, recs := measure(10_000, 1)
	if s := m.summary(filter{limit: 1}); s.RecordsKept != 10_000 || s.GroupsEvicted != n-1 {
		t.Fatalf("10000/1: kept %d evicted %d", s.RecordsKept, s.GroupsEvicted)
	}
	runtime.KeepAlive(m)
	m, grps := measure(1, 10_000)
	s = m.summary(filter{limit: maxMonitorGroups})
	if s.GroupsKept != 10_000 || s.GroupsEvicted != n-10_000 || len(s.Groups) != 10_000 {
		t.Fatalf("1/10000: kept %d evicted %d", s.GroupsKept, s.GroupsEvicted)
	}
	// the newest 10,000 routes are the ones kept
	if s.Groups[0].Route != fmt.Sprintf("/wiki/page-%d-x", n-1) {
		t.Errorf("most recent group %q", s.Groups[0].Route)
	}
	runtime.KeepAlive(m)
	// the largest group an attacker can make: every key string and four
	// hints at their caps
	before := heap()
	m = newMonitor(time.Now)
	m.attach(h, 1, 10_000)
	long := strings.Repeat("x", 5000)
	for i := range 10_000 {
		key := groupKey{server: "srv0", host: cut(fmt.Sprint(i, long), maxKeyBytes), method: cut(long, maxMethodBytes),
			route: foldRoute(fmt.Sprint("/", i, long)), status: 409}
		for j := range hintsPerGroup {
			m.add(time.Now(), key, cut(fmt.Sprint(j, i, long), maxHintBytes), nil)
		}
	}
	worst := heap() - before
	runtime.KeepAlive(m)
	perRecord := float64(recs-min(recs, small)) / 9_999
	perGroup := float64(grps-min(grps, small)) / 9_999
	perWorstGroup := float64(worst) / 10_000
	t.Logf("record JSON: %d bytes; per record kept: %.0f bytes; per group kept: %.0f bytes (largest possible group: %.0f bytes); store with 1 record and 1 group after %d conflicts: %d bytes",
		len(rec), perRecord, perGroup, perWorstGroup, n, small)
	// the bound the README states: a store of the default size stays far
	// below what the 100,000 conflicts would take unbounded
	if perRecord > 4*float64(len(rec))+512 || perGroup > 4096 || perWorstGroup > 8192 || small > 1<<20 {
		t.Errorf("memory above its bound: %.0f B/record, %.0f B/group, %d B for 1/1", perRecord, perGroup, small)
	}
}

// sampleRecord is a record encoded by the handler for a PUT with the
// headers a browser sends.
func sampleRecord(t testing.TB) []byte {
	t.Helper()
	rec, _ := recordFor(t, "PUT", "/wiki/page-1-x?token=s3cret&v=2", map[string]string{
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language": "en-US,en;q=0.5",
		"Accept-Encoding": "gzip, deflate, br",
		"Cookie":          "session=abcdef0123456789",
		"If-Match":        `"v6"`,
		"Content-Type":    "text/plain",
	}, 409, "Conflict")
	return rec
}

// recordFor serves one request through a handler with its own monitor and
// a JSON log, and returns the monitor's record and the log's record.
func recordFor(t testing.TB, method, target string, hdr map[string]string, status int, body string, opts ...func(*caddyhttp.Server)) (mon, logged []byte) {
	t.Helper()
	var logBuf bytes.Buffer
	h := new(Handler)
	if err := h.compile(); err != nil {
		t.Fatal(err)
	}
	// Caddy's default JSON log encoding
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(&logBuf), zapcore.DebugLevel)).Named("http.handlers.explain_errors")
	h.pool = &sync.Pool{New: func() any { return new(writer) }}
	h.monitor = newMonitor(time.Now)
	h.monitor.attach(h, 10, 10)
	rec := newRecorder()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	srv := &caddyhttp.Server{}
	for _, o := range opts {
		o(srv)
	}
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), rec, srv)
	err := h.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(status)
		_, err := io.WriteString(w, body)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	recs := h.monitor.recent(filter{limit: 10})
	if len(recs) != 1 {
		t.Fatalf("%d records in the monitor", len(recs))
	}
	return recs[0], bytes.TrimSpace(logBuf.Bytes())
}

func TestMonitorRecordIsTheLogRecordRedactedTheSameWay(t *testing.T) {
	hdr := map[string]string{
		"Authorization": "Basic dXNlcjpwYXNz",
		"Cookie":        "session=abcdef",
		"If-Match":      `"v1"`,
		"User-Agent":    "test",
	}
	for _, tc := range []struct {
		name  string
		creds bool
	}{{"credentials redacted", false}, {"log_credentials on", true}} {
		t.Run(tc.name, func(t *testing.T) {
			mon, logged := recordFor(t, "PUT", "http://shop.example/orders/17?api_key=k1&page=2", hdr, 412, "", func(s *caddyhttp.Server) {
				s.Logs = &caddyhttp.ServerLogConfig{ShouldLogCredentials: tc.creds}
			})
			var m, l map[string]any
			if err := json.Unmarshal(mon, &m); err != nil {
				t.Fatalf("monitor record: %v: %s", err, mon)
			}
			if err := json.Unmarshal(logged, &l); err != nil {
				t.Fatalf("log record: %v: %s", err, logged)
			}
			for k, v := range l {
				switch k {
				case "duration":
					// measured at two moments: the same unit is what counts
					if d, ok := m[k].(float64); !ok || d <= 0 || d > 10 {
						t.Errorf("duration: log %v, monitor %v: want seconds", v, m[k])
					}
					continue
				case "ts", "caller":
					continue // the monitor's ts is RFC 3339
				}
				mv, ok := m[k]
				if !ok {
					t.Errorf("the monitor's record lacks %s", k)
					continue
				}
				if a, b := fmt.Sprint(v), fmt.Sprint(mv); a != b {
					t.Errorf("%s: log %s, monitor %s", k, a, b)
				}
			}
			req := m["request"].(map[string]any)
			hdrs := req["headers"].(map[string]any)
			uri := req["uri"].(string)
			auth := fmt.Sprint(hdrs["Authorization"])
			if tc.creds != strings.Contains(uri, "k1") || tc.creds != strings.Contains(auth, "dXNlcjpwYXNz") {
				t.Errorf("log_credentials %v: uri %s, Authorization %s", tc.creds, uri, auth)
			}
			if m["route"] != "/orders/:id" || m["msg"] != "conflict response" || m["logger"] != "http.handlers.explain_errors" {
				t.Errorf("route %v msg %v logger %v", m["route"], m["msg"], m["logger"])
			}
		})
	}
}

func TestMonitorRecordOfHugeRequestIsTruncated(t *testing.T) {
	mon, _ := recordFor(t, "PUT", "http://shop.example/a?"+strings.Repeat("x", 40<<10), map[string]string{
		"X-Big":    strings.Repeat("y", 40<<10),
		"If-Match": strings.Repeat("z", 40<<10),
	}, 412, "")
	var m map[string]any
	if err := json.Unmarshal(mon, &m); err != nil {
		t.Fatal(err)
	}
	if len(mon) > maxRecordBytes || m["truncated"] != true {
		t.Errorf("%d bytes, truncated %v", len(mon), m["truncated"])
	}
}

func TestMonitorCountsEveryConcurrentConflict(t *testing.T) {
	m := newMonitor(time.Now)
	h := new(Handler)
	m.attach(h, 64, 8)
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// readers run beside the writers, as the admin API does
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				m.summary(filter{limit: 100})
				m.recent(filter{limit: 10})
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m.add(time.Now(), groupKey{route: fmt.Sprint("/", (w*each+i)%16), status: 409}, "h", []byte(`{}`))
			}
		}()
	}
	wg.Wait()
	close(stop)
	s := m.summary(filter{limit: 100})
	var inGroups uint64
	for _, g := range s.Groups {
		inGroups += g.Total
	}
	if s.Total != writers*each || s.GroupsKept != 8 || s.RecordsKept != 64 {
		t.Errorf("total %d groups %d records %d", s.Total, s.GroupsKept, s.RecordsKept)
	}
	// groups fall out and come back while 16 routes share 8 places; what
	// they hold plus what was dropped with them is every conflict
	if inGroups > s.Total || s.GroupsEvicted == 0 {
		t.Errorf("in groups %d of %d, evicted %d", inGroups, s.Total, s.GroupsEvicted)
	}
}

func TestMonitorSizesAreChecked(t *testing.T) {
	for _, tc := range []struct {
		records, groups int
		want            string
	}{
		{-1, 0, "monitor_records: -1"},
		{maxMonitorRecords + 1, 0, "monitor_records"},
		{0, -5, "monitor_groups: -5"},
		{0, maxMonitorGroups + 1, "monitor_groups"},
	} {
		h := &Handler{monitorConfig: monitorConfig{MonitorRecords: tc.records, MonitorGroups: tc.groups}}
		err := h.provisionMonitor()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d/%d: %v, want an error naming %s", tc.records, tc.groups, err, tc.want)
		}
		h.cleanupMonitor()
	}
	if _, refs := currentMonitor(); refs != 0 {
		t.Errorf("%d references left", refs)
	}
}

func TestMonitorIsSharedAndOutlivesAReload(t *testing.T) {
	old := new(Handler)
	if err := old.provisionMonitor(); err != nil {
		t.Fatal(err)
	}
	old.monitor.add(time.Now(), groupKey{status: 409}, "", []byte(`{}`))
	// a reload: the new handler is provisioned before the old one is
	// cleaned up
	next := &Handler{monitorConfig: monitorConfig{MonitorRecords: 7}}
	if err := next.provisionMonitor(); err != nil {
		t.Fatal(err)
	}
	if next.monitor != old.monitor {
		t.Fatal("two handlers have two monitors")
	}
	old.cleanupMonitor()
	old.cleanupMonitor() // twice is harmless
	m, refs := currentMonitor()
	if m != next.monitor || refs != 1 {
		t.Fatalf("after the old handler left: %p %d", m, refs)
	}
	if s := m.summary(filter{limit: 10}); s.Total != 1 || s.RecordsCap != 7 {
		t.Errorf("after reload: total %d capacity %d", s.Total, s.RecordsCap)
	}
	next.cleanupMonitor()
	if m, refs := currentMonitor(); m != nil || refs != 0 {
		t.Errorf("with no handler left: %p %d", m, refs)
	}
}

func TestCaddyfileMonitorOptions(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"monitor_records 20\nmonitor_groups 3000", ""},
		{"monitor_records 0", `monitor_records: "0"`},
		{"monitor_records 1e3", `monitor_records: "1e3"`},
		{"monitor_groups -1", `monitor_groups: "-1"`},
		{"monitor_groups", "monitor_groups: needs exactly one value"},
		{"monitor_records 200000", "from 1 to 100000"},
	} {
		var h Handler
		d := caddyfile.NewTestDispenser("explain_errors {\n" + tc.in + "\n}")
		err := h.UnmarshalCaddyfile(d)
		if tc.err == "" {
			if err != nil || h.MonitorRecords != 20 || h.MonitorGroups != 3000 {
				t.Errorf("%q: %v %+v", tc.in, err, h.monitorConfig)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.err)
		}
	}
}

// BenchmarkMonitorAdd is the cost monitorAdd puts on a conflict response:
// the record's encoding and the store.
func BenchmarkMonitorAdd(b *testing.B) {
	rec := sampleRecord(b)
	m := newMonitor(time.Now)
	m.attach(new(Handler), DefaultMonitorRecords, DefaultMonitorGroups)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.add(time.Now(), groupKey{host: "shop", method: "PUT", route: foldRoute(fmt.Sprint("/orders/", i%2000, "/x", i%3000)), status: 409}, "hint", rec)
	}
}

// BenchmarkBare409Monitored is BenchmarkBare409's json/with/nop case with
// the monitor on, as every provisioned handler has it: the difference is
// what the monitor costs a conflict response.
func BenchmarkBare409Monitored(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprint("monitor=", on), func(b *testing.B) {
			rw := newBenchRW()
			r := benchRequest(b, http.MethodPut, "http://example.com/conflict", benchAPIHeaders, rw)
			h := newBenchHandler(b, zap.NewNop())
			if on {
				h.monitor = newMonitor(time.Now)
				h.monitor.attach(h, DefaultMonitorRecords, DefaultMonitorGroups)
			}
			benchCheck(b, h, benchNextBare409, r, rw, 409, "application/problem+json", 100)
			benchRun(b, h, benchNextBare409, r, rw)
		})
	}
}

func TestMonitorOptionsInJSON(t *testing.T) {
	var h Handler
	if err := json.Unmarshal([]byte(`{"monitor_records": 7, "monitor_groups": 9}`), &h); err != nil {
		t.Fatal(err)
	}
	if h.MonitorRecords != 7 || h.MonitorGroups != 9 {
		t.Errorf("%+v", h.monitorConfig)
	}
	b, _ := json.Marshal(&h)
	if !strings.Contains(string(b), `"monitor_records":7,"monitor_groups":9`) {
		t.Errorf("marshalled: %s", b)
	}
}

// The monitor encodes a record only when the admin API asks for it. By
// then the pooled writer has served other requests: each record must
// still say what its own request and response were, as its log record
// did.
func TestMonitorRecordsEncodedLaterKeepTheirOwnRequest(t *testing.T) {
	h, logBuf := oneWriterHandler(t)
	const n = 3
	for i := range n {
		r := httptest.NewRequest("PUT", fmt.Sprintf("http://shop.example/orders/%d?n=%d", i, i), nil)
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:4000", i+1)
		r.Header.Set("If-Match", fmt.Sprintf(`"v%d"`, i))
		r.Header.Set("X-Request-Number", fmt.Sprint(i))
		serve412(t, h, r, fmt.Sprintf("203.0.113.%d", i+1), fmt.Sprintf(`"v%d"`, i+10))
	}
	logged := bytes.Split(bytes.TrimSpace(logBuf.Bytes()), []byte("\n"))
	mon := h.monitor.recent(filter{limit: 10})
	if len(logged) != n || len(mon) != n {
		t.Fatalf("%d log records, %d monitor records; want %d of each", len(logged), len(mon), n)
	}
	for i := range n {
		var m, l map[string]any
		// the monitor's are newest first
		if err := json.Unmarshal(mon[n-1-i], &m); err != nil {
			t.Fatalf("monitor record %d: %v: %s", i, err, mon[n-1-i])
		}
		if err := json.Unmarshal(logged[i], &l); err != nil {
			t.Fatalf("log record %d: %v", i, err)
		}
		for _, k := range []string{"request", "preconditions", "validators", "uuid", "hint", "status"} {
			if a, b := fmt.Sprint(l[k]), fmt.Sprint(m[k]); a != b {
				t.Errorf("request %d: %s: log %s, monitor %s", i, k, a, b)
			}
		}
		req, _ := m["request"].(map[string]any)
		pre, _ := m["preconditions"].(map[string]any)
		val, _ := m["validators"].(map[string]any)
		want := map[string]any{
			"client_ip": fmt.Sprintf("203.0.113.%d", i+1),
			"remote_ip": fmt.Sprintf("192.0.2.%d", i+1),
			"uri":       fmt.Sprintf("http://shop.example/orders/%d?n=%d", i, i),
		}
		for k, v := range want {
			if req[k] != v {
				t.Errorf("request %d: request.%s %v, want %v", i, k, req[k], v)
			}
		}
		if pre["If-Match"] != fmt.Sprintf(`"v%d"`, i) || val["ETag"] != fmt.Sprintf(`"v%d"`, i+10) {
			t.Errorf("request %d: preconditions %v, validators %v", i, pre, val)
		}
	}
}

// oneWriterHandler is a handler with its own monitor and a JSON log whose
// pool hands out one writer, reused by every request.
func oneWriterHandler(t *testing.T) (*Handler, *bytes.Buffer) {
	t.Helper()
	logBuf := new(bytes.Buffer)
	h := new(Handler)
	if err := h.compile(); err != nil {
		t.Fatal(err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(logBuf), zapcore.DebugLevel)).Named("http.handlers.explain_errors")
	w1 := new(writer)
	h.pool = &sync.Pool{New: func() any { return w1 }}
	h.monitor = newMonitor(time.Now)
	h.monitor.attach(h, 10, 10)
	return h, logBuf
}

// serve412 serves r through h as Caddy would, from clientIP, answered 412
// with etag.
func serve412(t *testing.T, h *Handler, r *http.Request, clientIP, etag string) {
	t.Helper()
	rec := newRecorder()
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), rec, &caddyhttp.Server{})
	caddyhttp.SetVar(r.Context(), caddyhttp.ClientIPVarKey, clientIP)
	err := h.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Etag", etag)
		w.WriteHeader(412)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// The ring keeps a record unencoded only while what it keeps of the
// request is within maxRecordBytes; a huge request's record is cut and
// encoded at once, so the store's bound holds whatever requests carry.
func TestMonitorKeepsAHugeRequestOnlyAsItsCutRecord(t *testing.T) {
	h, _ := oneWriterHandler(t)
	small := httptest.NewRequest("PUT", "http://shop.example/a", nil)
	small.Header.Set("If-Match", `"v1"`)
	serve412(t, h, small, "203.0.113.1", `"v2"`)
	huge := httptest.NewRequest("PUT", "http://shop.example/b", nil)
	huge.Header.Set("X-Big", strings.Repeat("y", maxRecordBytes))
	serve412(t, h, huge, "203.0.113.2", `"v2"`)
	m := h.monitor
	m.mu.Lock()
	kept := m.newest(2)
	m.mu.Unlock()
	if len(kept) != 2 {
		t.Fatalf("%d records kept", len(kept))
	}
	if r := kept[0]; r.lazy != nil || len(r.data) == 0 || len(r.data) > maxRecordBytes || !bytes.Contains(r.data, []byte(`"truncated":true`)) {
		t.Errorf("the huge request's record: kept unencoded %v, %d bytes encoded: %.200s", r.lazy != nil, len(r.data), r.data)
	}
	if r := kept[1]; r.lazy == nil || r.lazy.size > maxRecordBytes {
		t.Errorf("the small request's record: want it kept unencoded, within the bound: %+v", r)
	}
}

// What the ring keeps of a record the handler hands it, unencoded: the
// log record's fields, a copy of the request line and the request's
// header map. Measured through the handler, with a browser's headers.
func TestMonitorRecordsKeptUnencodedAreBounded(t *testing.T) {
	const n = 5000
	h, _ := oneWriterHandler(t)
	h.logger = zap.NewNop()
	h.monitor = newMonitor(time.Now)
	h.monitor.attach(h, n, 10)
	serveOne := func(i int) {
		r := httptest.NewRequest("PUT", fmt.Sprintf("http://wiki.example.com/wiki/page-%d-x?token=s3cret&v=2", i), nil)
		for k, v := range map[string]string{
			"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Accept-Language": "en-US,en;q=0.5",
			"Accept-Encoding": "gzip, deflate, br",
			"Cookie":          "session=abcdef0123456789",
			"If-Match":        `"v6"`,
			"Content-Type":    "text/plain",
		} {
			r.Header.Set(k, v)
		}
		serve412(t, h, r, "203.0.113.9", `"v7"`)
	}
	// the first fills the caches every request shares
	serveOne(0)
	before := heap()
	for i := 1; i <= n; i++ {
		serveOne(i)
	}
	after := heap()
	perRecord := float64(after-min(after, before)) / n
	recs := h.monitor.recent(filter{limit: 1})
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	t.Logf("per record kept unencoded: %.0f bytes (its JSON: %d bytes)", perRecord, len(recs[0]))
	if perRecord > maxRecordBytes/2 {
		t.Errorf("%.0f bytes a record: above the store's bound", perRecord)
	}
	runtime.KeepAlive(h)
}
