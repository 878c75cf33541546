package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(adminMonitor{})
}

// adminMonitor serves the monitor on Caddy's admin API, read-only:
//
//	GET /explain_errors/recent   the newest conflict records, newest first
//	GET /explain_errors/summary  conflicts grouped by server, host, status,
//	                             method and route, with counts and hints
//
// Both answer even when no explain_errors handler is configured, with
// nothing in them and "handlers": 0 in the summary.
type adminMonitor struct{}

// CaddyModule returns the Caddy module information.
func (adminMonitor) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.explain_errors",
		New: func() caddy.Module { return new(adminMonitor) },
	}
}

// Routes returns the monitor's two endpoints.
func (a adminMonitor) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/explain_errors/recent", Handler: caddy.AdminHandlerFunc(a.handleRecent)},
		{Pattern: "/explain_errors/summary", Handler: caddy.AdminHandlerFunc(a.handleSummary)},
	}
}

// DefaultRecentLimit is how many records /explain_errors/recent returns
// when the request does not say.
const DefaultRecentLimit = 50

func (adminMonitor) handleRecent(w http.ResponseWriter, r *http.Request) error {
	if err := readOnly(w, r); err != nil {
		return err
	}
	f, err := parseFilter(r.URL.Query(), DefaultRecentLimit, time.Now())
	if err != nil {
		return err
	}
	var recs [][]byte
	if m, _ := currentMonitor(); m != nil {
		recs = m.recent(f)
	}
	var b bytes.Buffer
	b.WriteString("[")
	for i, rec := range recs {
		if i > 0 {
			b.WriteString(",\n")
		} else {
			b.WriteString("\n")
		}
		b.Write(rec)
	}
	b.WriteString("\n]\n")
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b.Bytes())
	return err
}

func (adminMonitor) handleSummary(w http.ResponseWriter, r *http.Request) error {
	if err := readOnly(w, r); err != nil {
		return err
	}
	f, err := parseFilter(r.URL.Query(), maxMonitorGroups, time.Now())
	if err != nil {
		return err
	}
	m, refs := currentMonitor()
	var s summaryView
	if m != nil {
		s = m.summary(f)
	} else {
		s = summaryView{Now: time.Now(), Groups: []groupView{}}
	}
	s.Handlers = refs
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// readOnly refuses every method but GET and HEAD.
func readOnly(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	w.Header().Set("Allow", "GET, HEAD")
	return caddy.APIError{
		HTTPStatus: http.StatusMethodNotAllowed,
		Err:        fmt.Errorf("explain_errors: %s %s: method not allowed: the monitor is read-only (GET)", r.Method, r.URL.Path),
	}
}

// parseFilter reads the query parameters limit, status, host and since.
func parseFilter(q url.Values, defaultLimit int, now time.Time) (filter, error) {
	f := filter{limit: defaultLimit}
	for name, vals := range q {
		if len(vals) != 1 {
			return f, badParam(name, strings.Join(vals, ","), "give it once")
		}
		v := vals[0]
		switch name {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, badParam(name, v, "must be a whole number of at least 1")
			}
			f.limit = n
		case "status":
			s, err := parseStatuses([]string{v})
			if err != nil {
				return f, badParam(name, v, "must be a status code like 409 or a class like 4xx")
			}
			f.status = &s
		case "host":
			if v == "" {
				return f, badParam(name, v, "must be a host name, like example.com or example.com:8080")
			}
			f.host = strings.ToLower(v)
		case "since":
			t, err := parseSince(v, now)
			if err != nil {
				return f, badParam(name, v, "must be an RFC 3339 time like 2026-01-02T15:04:05Z or a duration like 15m")
			}
			f.since = t
		default:
			return f, caddy.APIError{
				HTTPStatus: http.StatusBadRequest,
				Err:        fmt.Errorf("explain_errors: unknown query parameter %q: the parameters are limit, status, host and since", name),
			}
		}
	}
	return f, nil
}

// parseSince reads a time (RFC 3339) or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := caddy.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("not a time or duration")
	}
	return now.Add(-d), nil
}

func badParam(name, value, want string) error {
	return caddy.APIError{
		HTTPStatus: http.StatusBadRequest,
		Err:        fmt.Errorf("explain_errors: query parameter %s=%q: %s", name, value, want),
	}
}

// Interface guard
var _ caddy.AdminRouter = adminMonitor{}
