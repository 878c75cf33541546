package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// conflictApp is an application that conflicts in several ways:
// PUT /orders/<n> answers a bare 409, PUT /docs/<uuid> a 412 naming its
// current ETag, LOCK /files/<hex> a 423, anything else 200.
func conflictApp(t *testing.T) string {
	return upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/orders/") && r.Method == "PUT":
			w.WriteHeader(http.StatusConflict)
		case strings.HasPrefix(r.URL.Path, "/docs/"):
			w.Header().Set("ETag", `"v2"`)
			w.WriteHeader(http.StatusPreconditionFailed)
		case strings.HasPrefix(r.URL.Path, "/files/"):
			w.WriteHeader(http.StatusLocked)
		default:
			w.Write([]byte("ok"))
		}
	}))
}

// summary is /explain_errors/summary, as the test reads it.
type summary struct {
	Handlers      int    `json:"handlers"`
	Total         uint64 `json:"total"`
	RecordsKept   int    `json:"records_kept"`
	RecordsCap    int    `json:"records_capacity"`
	GroupsKept    int    `json:"groups_kept"`
	GroupsCap     int    `json:"groups_capacity"`
	GroupsEvicted uint64 `json:"groups_evicted"`
	Groups        []struct {
		Server     string `json:"server"`
		Host       string `json:"host"`
		Status     int    `json:"status"`
		Method     string `json:"method"`
		Route      string `json:"route"`
		LastMinute uint64 `json:"last_minute"`
		LastHour   uint64 `json:"last_hour"`
		Total      uint64 `json:"total"`
		Hints      []struct {
			Hint  string `json:"hint"`
			Count uint64 `json:"count"`
		} `json:"hints"`
	} `json:"groups"`
}

func (in *instance) adminGet(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, b := doURL(t, "GET", "http://"+in.admin+path, nil, nil)
	return resp.StatusCode, b
}

func (in *instance) summary(t *testing.T, query string) summary {
	t.Helper()
	code, b := in.adminGet(t, "/explain_errors/summary"+query)
	if code != 200 {
		t.Fatalf("summary%s: %d %s", query, code, b)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary: %v: %s", err, b)
	}
	return s
}

func (in *instance) recent(t *testing.T, query string) []map[string]any {
	t.Helper()
	code, b := in.adminGet(t, "/explain_errors/recent"+query)
	if code != 200 {
		t.Fatalf("recent%s: %d %s", query, code, b)
	}
	var recs []map[string]any
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatalf("recent: %v: %s", err, b)
	}
	return recs
}

// TestMonitorCountsEveryConflictByRouteUnderLogRate sends conflicts of
// three statuses on four routes and two hosts through a site whose log is
// capped at one record a minute per status, and reads the admin API and
// caddy conflicts: every conflict is counted, by route, with its hint.
func TestMonitorCountsEveryConflictByRouteUnderLogRate(t *testing.T) {
	app := conflictApp(t)
	in := startCaddy(t, fmt.Sprintf(`
http://:{PORT} {
	explain_errors {
		log_rate 1/m
		monitor_records 100
		monitor_groups 50
	}
	reverse_proxy %s
}`, app))
	type req struct {
		method, path, host string
		hdr                map[string]string
		n                  int
	}
	shop, wiki := "shop.test", "wiki.test"
	reqs := []req{
		{"PUT", "/orders/%d", shop, nil, 5},
		{"PUT", "/orders/%d", wiki, nil, 2},
		{"PUT", "/docs/550e8400-e29b-41d4-a716-44665544000%d", shop, map[string]string{"If-Match": `"v1"`}, 3},
		{"LOCK", "/files/0123456789abcdef0123456789abcdef0123456%d", shop, nil, 2},
		// ids fold, secrets are redacted, credentials too
		{"PUT", "/orders/%d?token=s3cret&page=2", shop, map[string]string{"Authorization": "Bearer abc.def"}, 1},
	}
	want := 0
	for _, r := range reqs {
		for i := 0; i < r.n; i++ {
			hdr := map[string]string{"Host": r.host, "Accept": "application/json"}
			for k, v := range r.hdr {
				hdr[k] = v
			}
			in.do(r.method, fmt.Sprintf(r.path, i), hdr, nil)
			want++
		}
	}
	// 200s are not conflicts
	in.do("GET", "/hello", map[string]string{"Host": shop}, nil)

	s := in.summary(t, "")
	if s.Total != uint64(want) || s.Handlers != 1 || s.RecordsCap != 100 || s.GroupsCap != 50 || s.RecordsKept != want || s.GroupsEvicted != 0 {
		t.Fatalf("summary: total %d (want %d), handlers %d, records %d/%d, groups cap %d, evicted %d", s.Total, want, s.Handlers, s.RecordsKept, s.RecordsCap, s.GroupsCap, s.GroupsEvicted)
	}
	type row struct {
		host, method, route string
		status              int
		n                   uint64
		hint                string
	}
	wantRows := []row{
		{shop, "PUT", "/orders/:id", 409, 6, "PUT answered 409"},
		{shop, "PUT", "/docs/:id", 412, 3, `PUT with If-Match "v1" met the current ETag "v2"`},
		// two each: the one seen last comes first
		{shop, "LOCK", "/files/:id", 423, 2, "LOCK answered 423: the resource already holds a conflicting lock"},
		{wiki, "PUT", "/orders/:id", 409, 2, "PUT answered 409"},
	}
	if len(s.Groups) != len(wantRows) {
		t.Fatalf("%d groups, want %d: %+v", len(s.Groups), len(wantRows), s.Groups)
	}
	for i, w := range wantRows {
		g := s.Groups[i]
		if g.Host != w.host || g.Method != w.method || g.Route != w.route || g.Status != w.status ||
			g.Total != w.n || g.LastHour != w.n || g.LastMinute != w.n || g.Server != "srv0" {
			t.Errorf("group %d: %+v, want %+v", i, g, w)
		}
		if len(g.Hints) == 0 || !strings.HasPrefix(g.Hints[0].Hint, w.hint) || g.Hints[0].Count != w.n {
			t.Errorf("group %d: hints %+v, want %q ×%d", i, g.Hints, w.hint, w.n)
		}
	}

	// log_rate let one record a status through; the monitor has them all
	logged := 0
	for _, r := range in.waitRecords(3) {
		if r["msg"] == "conflict response" {
			logged++
		}
	}
	if logged != 3 {
		t.Errorf("%d conflict records in the log, want 3 (one per status under log_rate 1/m)", logged)
	}

	recs := in.recent(t, "")
	if len(recs) != want {
		t.Fatalf("recent: %d records, want %d", len(recs), want)
	}
	newest := recs[0]
	reqObj := newest["request"].(map[string]any)
	if newest["status"] != 409.0 || reqObj["uri"] != "/orders/0?token=REDACTED&page=2" || newest["route"] != "/orders/:id" {
		t.Errorf("newest record: %v", newest)
	}
	if auth := fmt.Sprint(reqObj["headers"].(map[string]any)["Authorization"]); strings.Contains(auth, "abc.def") {
		t.Errorf("Authorization is in the record: %s", auth)
	}
	if recs[len(recs)-1]["request"].(map[string]any)["uri"] != "/orders/0" {
		t.Errorf("oldest record: %v", recs[len(recs)-1])
	}
	for q, n := range map[string]int{
		"?limit=4":                     4,
		"?status=412":                  3,
		"?status=4xx":                  want,
		"?host=wiki.test":              2,
		"?host=wiki.test&status=412":   0,
		"?since=1h":                    want,
		"?since=2000-01-01T00:00:00Z":  want,
		"?since=2999-01-01T00:00:00Z":  0,
		"?status=423&limit=1":          1,
		"?host=WIKI.TEST&limit=100000": 2,
	} {
		if got := len(in.recent(t, q)); got != n {
			t.Errorf("recent%s: %d records, want %d", q, got, n)
		}
	}
	if s := in.summary(t, "?status=409"); len(s.Groups) != 2 {
		t.Errorf("summary?status=409: %d groups, want 2", len(s.Groups))
	}

	// the command, through the same admin API
	out, errOut, code := runCaddy(t, "conflicts", "--address", in.admin)
	if code != 0 {
		t.Fatalf("caddy conflicts: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if !regexp.MustCompile(`^HOST +METHOD +ROUTE +STATUS +1M +1H +TOTAL +LAST SEEN +TOP HINT$`).MatchString(lines[0]) {
		t.Errorf("header: %q", lines[0])
	}
	for i, w := range wantRows {
		re := regexp.MustCompile(fmt.Sprintf(`^%s +%s +%s +%d +%d +%d +%d +(just now|\d+s ago) +%s`,
			regexp.QuoteMeta(w.host), w.method, regexp.QuoteMeta(w.route), w.status, w.n, w.n, w.n, regexp.QuoteMeta(w.hint)))
		if i+1 >= len(lines) || !re.MatchString(lines[i+1]) {
			t.Errorf("caddy conflicts row %d does not match %s:\n%s", i, re, out)
		}
	}
	if !strings.Contains(out, fmt.Sprintf("%d conflicts since", want)) || !strings.Contains(out, "4 of at most 50 groups shown, 0 dropped") {
		t.Errorf("caddy conflicts footer:\n%s", out)
	}

	out, errOut, code = runCaddy(t, "conflicts", "--address", in.admin, "--recent", "--limit", "2", "--status", "423")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "WHEN") ||
		!strings.Contains(lines[1], "/files/0123456789abcdef0123456789abcdef01234561") ||
		!strings.Contains(lines[2], "/files/0123456789abcdef0123456789abcdef01234560") {
		t.Errorf("caddy conflicts --recent --limit 2 --status 423: exit %d\n%s%s", code, out, errOut)
	}

	out, _, code = runCaddy(t, "conflicts", "--address", in.admin, "--json")
	var js summary
	if err := json.Unmarshal([]byte(out), &js); code != 0 || err != nil || js.Total != uint64(want) || len(js.Groups) != 4 {
		t.Errorf("caddy conflicts --json: exit %d, %v: %.300s", code, err, out)
	}

	out, errOut, code = runCaddy(t, "conflicts", "--address", in.admin, "--watch", "--count", "3", "--interval", "100ms")
	if code != 0 || strings.Count(out, "caddy conflicts on "+in.admin) != 3 || strings.Count(out, "\x1b[2J") != 3 ||
		strings.Count(out, fmt.Sprintf("%d conflicts since", want)) != 3 {
		t.Errorf("caddy conflicts --watch --count 3: exit %d\n%q\n%s", code, out, errOut)
	}
}

func TestMonitorAdminEndpointsAreReadOnlyAndCheckTheirQuery(t *testing.T) {
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	reverse_proxy %s
}`, conflictApp(t)))
	in.do("PUT", "/orders/1", nil, nil)
	for _, path := range []string{"/explain_errors/recent", "/explain_errors/summary"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			resp, b := doURL(t, m, "http://"+in.admin+path, nil, strings.NewReader("{}"))
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(b), "read-only") {
				t.Errorf("%s %s: %d Allow %q %s", m, path, resp.StatusCode, resp.Header.Get("Allow"), b)
			}
		}
		for q, name := range map[string]string{
			"?limit=0": "limit", "?limit=ten": "limit", "?status=200": "status", "?status=4x": "status",
			"?since=yesterday": "since", "?since=-5m": "since", "?host=": "host", "?order=asc": "order",
		} {
			code, b := in.adminGet(t, path+q)
			var e struct{ Error string }
			_ = json.Unmarshal(b, &e)
			if code != 400 || !strings.Contains(e.Error, name) {
				t.Errorf("%s%s: %d %s, want 400 naming %s", path, q, code, b, name)
			}
		}
	}
	// the endpoints live on the admin listener, not on the site
	resp, b := in.do("GET", "/explain_errors/summary", nil, nil)
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Errorf("the site answered /explain_errors/summary itself: %d %s", resp.StatusCode, b)
	}
	if s := in.summary(t, ""); s.Total != 1 {
		t.Errorf("after the refused writes: total %d, want 1", s.Total)
	}
}

// TestMonitorKeepsItsRecordsAcrossAReload reloads the config with caddy
// reload: the new handlers take the same store, sized anew.
func TestMonitorKeepsItsRecordsAcrossAReload(t *testing.T) {
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		monitor_records 10
	}
	reverse_proxy %s
}`, conflictApp(t)))
	for i := 0; i < 4; i++ {
		in.do("PUT", fmt.Sprintf("/orders/%d", i), nil, nil)
	}
	file := filepath.Join(in.dir, "Caddyfile")
	cfg, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(cfg), "monitor_records 10", "monitor_records 3", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCaddy(t, "reload", "--config", file, "--adapter", "caddyfile", "--address", in.admin); code != 0 {
		t.Fatalf("caddy reload: exit %d\n%s", code, errOut)
	}
	s := in.summary(t, "")
	if s.Total != 4 || s.RecordsCap != 3 || s.RecordsKept != 3 || s.Handlers != 1 || len(s.Groups) != 1 || s.Groups[0].Total != 4 {
		t.Fatalf("after reload: %+v", s)
	}
	recs := in.recent(t, "")
	if len(recs) != 3 || recs[0]["request"].(map[string]any)["uri"] != "/orders/3" {
		t.Errorf("after reload, recent: %v", recs)
	}
	in.do("PUT", "/orders/9", nil, nil)
	if s := in.summary(t, ""); s.Total != 5 || s.Groups[0].Total != 5 {
		t.Errorf("a conflict after reload: total %d", s.Total)
	}
}

// TestMonitorCapsGroupsThroughCaddy sends conflicts on 600 unique routes
// to a monitor of 100 groups: it keeps the newest 100 and counts the 500
// it dropped. (The 100,000-path bound on memory is measured on the store
// itself, in caddymodule's TestMonitorMemoryIsBoundedUnder100000UniquePaths.)
func TestMonitorCapsGroupsThroughCaddy(t *testing.T) {
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		monitor_records 20
		monitor_groups 100
	}
	reverse_proxy %s
}`, conflictApp(t)))
	const n = 600
	for i := 0; i < n; i++ {
		in.do("PUT", fmt.Sprintf("/orders/o%d", i), nil, nil)
	}
	s := in.summary(t, "")
	if s.Total != n || s.GroupsKept != 100 || s.GroupsEvicted != n-100 || len(s.Groups) != 100 || s.RecordsKept != 20 {
		t.Fatalf("total %d, groups %d (%d listed), evicted %d, records %d", s.Total, s.GroupsKept, len(s.Groups), s.GroupsEvicted, s.RecordsKept)
	}
	seen := map[string]bool{}
	for _, g := range s.Groups {
		seen[g.Route] = true
	}
	for i := n - 100; i < n; i++ {
		if !seen[fmt.Sprintf("/orders/o%d", i)] {
			t.Errorf("/orders/o%d, among the newest 100, is not kept", i)
		}
	}
}

func TestConflictsCommandSaysWhenTheAdminAPIIsUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, errOut, code := runCaddy(t, "conflicts", "--address", addr)
	if code == 0 || !strings.Contains(errOut, "the admin API at "+addr+" is not reachable") || !strings.Contains(errOut, "admin off") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}
