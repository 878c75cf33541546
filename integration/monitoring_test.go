package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// promtool returns the path of Prometheus's promtool: the tests skip
// without it locally and fail without it in CI.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but promtool is missing (%v): install Debian's prometheus package", err)
		}
		t.Skipf("the monitoring tests need promtool (Debian's prometheus package): %v", err)
	}
	return p
}

func runPromtool(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

const rulesFile = "../monitoring/explain-errors.rules.yml"

func TestAlertRulesPassPromtool(t *testing.T) {
	out := runPromtool(t, nil, "check", "rules", rulesFile)
	if !strings.Contains(out, "SUCCESS: 5 rules found") {
		t.Errorf("promtool check rules: %s", out)
	}
	out = runPromtool(t, nil, "test", "rules", "../monitoring/explain-errors.rules.test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %s", out)
	}
}

// dashboardExprs returns every query of the Grafana dashboard, with
// Grafana's variables replaced as Grafana would.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			e := strings.NewReplacer("$server", ".*", "$__rate_interval", "5m").Replace(tg.Expr)
			exprs = append(exprs, e)
		}
	}
	return exprs
}

// TestDashboardQueriesArePromQL has promtool parse every dashboard query,
// as the expression of a recording rule.
func TestDashboardQueriesArePromQL(t *testing.T) {
	exprs := dashboardExprs(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runPromtool(t, nil, "check", "rules", file); !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(exprs))) {
		t.Errorf("promtool check rules on the dashboard's queries: %s", out)
	}
}

// metric names and recording rule names are tokens of these characters;
// the metrics are the ones that start with caddy_
var promToken = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)

// TestCaddyMetricsPassPromtoolAndHaveWhatTheRulesUse scrapes a real
// Caddy, with Caddy's own metrics on and traffic that touches every
// metric of the module, checks the output with promtool check metrics,
// and checks that every metric the rules and the dashboard name is in it.
func TestCaddyMetricsPassPromtoolAndHaveWhatTheRulesUse(t *testing.T) {
	promtool(t)
	app := conflictApp(t)
	site := fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		log_rate 1/m
	}
	handle /down {
		reverse_proxy 127.0.0.1:1
	}
	reverse_proxy %s
}`, app)
	in := startCaddy(t, site)
	// the harness's global options have no metrics option: load the same
	// config with it
	cfg := fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n\tmetrics\n}\n%s",
		in.admin, strings.ReplaceAll(site, "{PORT}", strconv.Itoa(in.port)))
	req, _ := http.NewRequest("POST", "http://"+in.admin+"/load", strings.NewReader(cfg))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("loading the config with metrics: %d %s", resp.StatusCode, b)
	}
	client.CloseIdleConnections()
	for i := 0; i < 3; i++ {
		in.do("PUT", fmt.Sprintf("/orders/%d", i), nil, nil)                // 409, explained, suppressed after the first
		in.do("PUT", "/docs/a", map[string]string{"If-Match": `"v1"`}, nil) // 412
		in.do("GET", "/down", nil, nil)                                     // 502, explained
		in.do("GET", "/hello", nil, nil)
	}
	_, body := doURL(t, "GET", "http://"+in.admin+"/metrics", nil, nil)
	metrics := string(body)
	runPromtool(t, strings.NewReader(metrics), "check", "metrics")

	have := map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			have[strings.Fields(name)[0]] = true
		}
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, src := range append(dashboardExprs(t), string(rules)) {
		for _, m := range promToken.FindAllString(src, -1) {
			if strings.HasPrefix(m, "caddy_") && !strings.Contains(m, ":") {
				used[m] = true
			}
		}
	}
	var names []string
	for m := range used {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		if !have[m] {
			t.Errorf("the rules or the dashboard use %s, which this Caddy does not export", m)
		}
	}
	for _, want := range []string{
		`caddy_explain_errors_responses_total{server="srv0",source="upstream",status="409"} 3`,
		`caddy_explain_errors_responses_total{server="srv0",source="upstream",status="412"} 3`,
		`caddy_explain_errors_records_suppressed_total{server="srv0",status="409"} 2`,
		`caddy_explain_errors_pages_total{format="text",server="srv0",status="502"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if len(names) < 4 {
		t.Errorf("found only %v in the rules and the dashboard", names)
	}
}

// TestJQProgramGroupsLogRecordsLikeTheSummary runs the README's jq
// program on a real Caddy's log and compares its groups with the admin
// API's summary of the same conflicts.
func TestJQProgramGroupsLogRecordsLikeTheSummary(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but jq is missing (%v): install Debian's jq package", err)
		}
		t.Skipf("this test needs jq: %v", err)
	}
	in := startCaddy(t, fmt.Sprintf(`
http://:{PORT} {
	explain_errors
	reverse_proxy %s
}`, conflictApp(t)))
	n := 0
	send := func(method, path, host string, times int, hdr map[string]string) {
		for i := 0; i < times; i++ {
			h := map[string]string{"Host": host}
			for k, v := range hdr {
				h[k] = v
			}
			in.do(method, fmt.Sprintf(path, i), h, nil)
			n++
		}
	}
	send("PUT", "/orders/%d/lines/7?token=x", "shop.test", 4, nil)
	send("PUT", "/docs/550e8400-e29b-41d4-a716-44665544000%d", "shop.test", 3, map[string]string{"If-Match": `"v1"`})
	send("PUT", "/docs/550e8400-e29b-41d4-a716-44665544000%d", "shop.test", 1, map[string]string{"If-Match": `"v9"`})
	send("LOCK", "/files/0123456789abcdef0123456789abcdef0123456%d", "wiki.test", 2, nil)
	send("PUT", "/orders/%d", "wiki.test", 1, nil)
	in.waitRecords(n)

	cmd := exec.Command(jq, "-c", "-n", "-f", "../monitoring/group-conflicts.jq", in.logFile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v\n%s", err, out)
	}
	type g struct {
		Host, Method, Route string
		Status              int
		Total               uint64
		Hints               []struct {
			Hint  string
			Count uint64
		}
	}
	key := func(host string, status int, method, route string) string {
		return fmt.Sprint(host, " ", status, " ", method, " ", route)
	}
	fromJQ := map[string]g{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var v g
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("jq output %q: %v", line, err)
		}
		fromJQ[key(v.Host, v.Status, v.Method, v.Route)] = v
	}
	s := in.summary(t, "")
	if len(s.Groups) != len(fromJQ) || len(s.Groups) != 4 {
		t.Fatalf("summary has %d groups, jq %d:\n%s", len(s.Groups), len(fromJQ), out)
	}
	for _, sg := range s.Groups {
		jg, ok := fromJQ[key(sg.Host, sg.Status, sg.Method, sg.Route)]
		if !ok {
			t.Errorf("jq has no group %s %d %s %s:\n%s", sg.Host, sg.Status, sg.Method, sg.Route, out)
			continue
		}
		if jg.Total != sg.Total || len(jg.Hints) != len(sg.Hints) {
			t.Errorf("%s: jq %d conflicts, %d hints; summary %d, %d", sg.Route, jg.Total, len(jg.Hints), sg.Total, len(sg.Hints))
			continue
		}
		for i := range sg.Hints {
			if jg.Hints[i].Hint != sg.Hints[i].Hint || jg.Hints[i].Count != sg.Hints[i].Count {
				t.Errorf("%s: hint %d: jq %+v, summary %+v", sg.Route, i, jg.Hints[i], sg.Hints[i])
			}
		}
	}
}
