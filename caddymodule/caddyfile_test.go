package caddymodule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  Handler
	}{
		{"Bare", `explain_errors`, Handler{}},
		{"EmptyBlock", "explain_errors {\n}", Handler{}},
		{"EverySubdirective", `explain_errors {
	log 409 412 5xx
	explain 4xx 503
	bare_max 1KiB
	excerpt 0
	stock_pages off
	handler_errors on
	site_name "Demo shop"
	contact mailto:ops@example.com
	home /shop/
	show_owner_notes on
	template /etc/caddy/explain.html
	page 409 /etc/caddy/409.html
	page 503 /etc/caddy/503.html
	log_rate 100/s
	log_rate_interval 1m
}`, Handler{
			LogRate:         "100/s",
			LogRateInterval: caddy.Duration(time.Minute),
			Log:             []string{"409", "412", "5xx"},
			Explain:         []string{"4xx", "503"},
			BareMax:         intp(1024),
			Excerpt:         intp(0),
			StockPages:      boolp(false),
			HandlerErrors:   boolp(true),
			SiteName:        "Demo shop",
			Contact:         "mailto:ops@example.com",
			Home:            "/shop/",
			ShowOwnerNotes:  true,
			Template:        "/etc/caddy/explain.html",
			Pages:           map[string]string{"409": "/etc/caddy/409.html", "503": "/etc/caddy/503.html"},
		}},
		{"LogOff", "explain_errors {\n\tlog off\n}", Handler{LogOff: true}},
		{"ExplainOff", "explain_errors {\n\texplain off\n}", Handler{ExplainOff: true}},
		{"LaterLogWinsOverOff", "explain_errors {\n\tlog off\n\tlog 409\n}", Handler{Log: []string{"409"}}},
		{"LaterOffWinsOverLog", "explain_errors {\n\texplain 409\n\texplain off\n}", Handler{ExplainOff: true}},
		{"UppercaseClass", "explain_errors {\n\texplain 4XX\n}", Handler{Explain: []string{"4XX"}}},
		{"PlainByteSizes", "explain_errors {\n\tbare_max 512\n\texcerpt 64\n}", Handler{BareMax: intp(512), Excerpt: intp(64)}},
		{"LargestSize", "explain_errors {\n\tbare_max 1MiB\n}", Handler{BareMax: intp(1 << 20)}},
		{"ZeroBareMax", "explain_errors {\n\tbare_max 0\n}", Handler{BareMax: intp(0)}},
		{"StockPagesOnHandlerErrorsOff", "explain_errors {\n\tstock_pages on\n\thandler_errors off\n}", Handler{StockPages: boolp(true), HandlerErrors: boolp(false)}},
		{"ContactEmail", "explain_errors {\n\tcontact ops@example.com\n}", Handler{Contact: "ops@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			if !reflect.DeepEqual(h, tc.want) {
				t.Errorf("got  %+v\nwant %+v", h, tc.want)
			}
		})
	}
}

// TestUnmarshalCaddyfileResultCompiles: what the Caddyfile accepts,
// Provision accepts too.
func TestUnmarshalCaddyfileResultCompiles(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "explain.html")
	page := filepath.Join(dir, "409.html")
	for _, f := range []string{tmpl, page} {
		if err := os.WriteFile(f, []byte(`<p>{{.Code}} {{.Text.Title}} {{.RequestID}}</p>`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	input := `explain_errors {
	log 409 412 5xx
	explain 4xx 503
	bare_max 1KiB
	excerpt 100
	stock_pages off
	handler_errors on
	site_name "Demo shop"
	contact https://example.com/help
	template ` + tmpl + `
	page 409 ` + page + `
}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	newTestHandler(t, &h)
	if h.bareMax != 1024 || h.excerpt != 100 || h.stockPages || !h.handlerErrors ||
		!h.logSet.has(409) || !h.logSet.has(599) || h.logSet.has(423) ||
		!h.explainSet.has(418) || !h.explainSet.has(503) || h.explainSet.has(502) {
		t.Errorf("compiled state does not follow the Caddyfile: %+v", h)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string // substrings of the error: what is wrong, and where
	}{
		{"UnknownSubdirective", "explain_errors {\n\tlog 409\n\tcolour red\n}", []string{`"colour"`, "Testfile:3"}},
		{"ArgumentOnDirectiveLine", "explain_errors extra {\n}", []string{"extra", "Testfile:1"}},
		{"Status99", "explain_errors {\n\tbare_max 512\n\tlog 409 99\n}", []string{"log", "99", "Testfile:3"}},
		{"Status600", "explain_errors {\n\tbare_max 512\n\texplain 600\n}", []string{"explain", "600", "Testfile:3"}},
		{"Status2xx", "explain_errors {\n\tbare_max 512\n\texplain 200\n}", []string{"explain", "200", "Testfile:3"}},
		{"Class4yy", "explain_errors {\n\tbare_max 512\n\tlog 4yy\n}", []string{"log", "4yy", "Testfile:3"}},
		{"Class6xx", "explain_errors {\n\tbare_max 512\n\tlog 6xx\n}", []string{"log", "6xx", "Testfile:3"}},
		{"OffAmongStatuses", "explain_errors {\n\tbare_max 512\n\tlog 409 off\n}", []string{"log", "off", "Testfile:3"}},
		{"NegativeSize", "explain_errors {\n\tlog 409\n\tbare_max -3\n}", []string{"bare_max", "-3", "Testfile:3"}},
		{"SizeWithoutNumber", "explain_errors {\n\tlog 409\n\texcerpt lots\n}", []string{"excerpt", "lots", "Testfile:3"}},
		{"SizeTooLarge", "explain_errors {\n\tlog 409\n\tbare_max 2MiB\n}", []string{"bare_max", "2MiB", "Testfile:3"}},
		{"MissingSize", "explain_errors {\n\tlog 409\n\tbare_max\n}", []string{"bare_max", "Testfile:3"}},
		{"TwoSizes", "explain_errors {\n\tlog 409\n\texcerpt 1 2\n}", []string{"excerpt", "Testfile:3"}},
		{"MissingLogStatuses", "explain_errors {\n\tbare_max 512\n\tlog\n}", []string{"log", "Testfile:3"}},
		{"MissingExplainStatuses", "explain_errors {\n\tbare_max 512\n\texplain\n}", []string{"explain", "Testfile:3"}},
		{"StockPagesMaybe", "explain_errors {\n\tlog 409\n\tstock_pages maybe\n}", []string{"stock_pages", "maybe", "Testfile:3"}},
		{"HandlerErrorsYes", "explain_errors {\n\tlog 409\n\thandler_errors yes\n}", []string{"handler_errors", "yes", "Testfile:3"}},
		{"MissingOnOff", "explain_errors {\n\tlog 409\n\tstock_pages\n}", []string{"stock_pages", "Testfile:3"}},
		{"MissingSiteName", "explain_errors {\n\tlog 409\n\tsite_name\n}", []string{"site_name", "Testfile:3"}},
		{"TwoSiteNames", "explain_errors {\n\tlog 409\n\tsite_name Demo shop\n}", []string{"site_name", "Testfile:3"}},
		{"MissingContact", "explain_errors {\n\tlog 409\n\tcontact\n}", []string{"contact", "Testfile:3"}},
		{"MissingTemplate", "explain_errors {\n\tlog 409\n\ttemplate\n}", []string{"template", "Testfile:3"}},
		{"PageWithoutFile", "explain_errors {\n\tlog 409\n\tpage 409\n}", []string{"page", "Testfile:3"}},
		{"PageForClass", "explain_errors {\n\tlog 409\n\tpage 4xx /x.html\n}", []string{"page", "4xx", "Testfile:3"}},
		{"LogRateWithoutCount", "explain_errors {\n\tlog 409\n\tlog_rate fast\n}", []string{"log_rate", "fast", "Testfile:3"}},
		{"LogRateZero", "explain_errors {\n\tlog 409\n\tlog_rate 0/s\n}", []string{"log_rate", "0/s", "Testfile:3"}},
		{"LogRateBadUnit", "explain_errors {\n\tlog 409\n\tlog_rate 10/d\n}", []string{"log_rate", "10/d", "Testfile:3"}},
		{"MissingLogRate", "explain_errors {\n\tlog 409\n\tlog_rate\n}", []string{"log_rate", "Testfile:3"}},
		{"NegativeLogRateInterval", "explain_errors {\n\tlog 409\n\tlog_rate_interval -1s\n}", []string{"log_rate_interval", "-1s", "Testfile:3"}},
		{"BadLogRateInterval", "explain_errors {\n\tlog 409\n\tlog_rate_interval soon\n}", []string{"log_rate_interval", "soon", "Testfile:3"}},
		{"PageFor200", "explain_errors {\n\tlog 409\n\tpage 200 /x.html\n}", []string{"page", "200", "Testfile:3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("no error for:\n%s\ngot %+v", tc.input, h)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// adapt runs the full Caddyfile adapter, as `caddy adapt` does.
func adapt(t *testing.T, input string) ([]byte, error) {
	t.Helper()
	a := caddyconfig.GetAdapter("caddyfile")
	if a == nil {
		t.Fatal("no caddyfile adapter")
	}
	out, _, err := a.Adapt([]byte(input), nil)
	return out, err
}

// handlerNames lists the "handler" values of the adapted config in the order
// they appear, depth first: the order requests go through them.
func handlerNames(t *testing.T, cfg []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(cfg, &v); err != nil {
		t.Fatal(err)
	}
	var names []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if h, ok := v["handler"].(string); ok {
				names = append(names, h)
			}
			// routes before handle: a subroute's own handlers come in its routes
			for _, k := range []string{"apps", "http", "servers", "srv0", "routes", "handle"} {
				if c, ok := v[k]; ok {
					walk(c)
				}
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return names
}

// findHandler returns the first handler object named name.
func findHandler(t *testing.T, cfg []byte, name string) map[string]any {
	t.Helper()
	var v any
	if err := json.Unmarshal(cfg, &v); err != nil {
		t.Fatal(err)
	}
	var found map[string]any
	var walk func(any)
	walk = func(v any) {
		if found != nil {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == name {
				found = v
				return
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return found
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestDirectiveOrder: without any `order` line, explain_errors goes inside
// encode (so pages are compressed) and outside every handler that writes
// a response.
func TestDirectiveOrder(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		after       []string
		before      []string
	}{
		{"EncodeThenReverseProxy", `:8080 {
	reverse_proxy 127.0.0.1:9000
	explain_errors
	encode gzip
}`, []string{"encode"}, []string{"reverse_proxy"}},
		{"WrittenInOrder", `:8080 {
	encode zstd gzip
	explain_errors
	reverse_proxy 127.0.0.1:9000
}`, []string{"encode"}, []string{"reverse_proxy"}},
		{"FileServer", `:8080 {
	file_server
	explain_errors
	encode
	header X-Frame-Options DENY
}`, []string{"encode", "headers"}, []string{"file_server"}},
		{"Respond", `:8080 {
	respond "nope" 409
	explain_errors
}`, nil, []string{"static_response"}},
		{"Templates", `:8080 {
	templates
	explain_errors
	file_server
}`, nil, []string{"templates", "file_server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := adapt(t, tc.input)
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			names := handlerNames(t, cfg)
			me := indexOf(names, "explain_errors")
			if me < 0 {
				t.Fatalf("no explain_errors handler in %s", cfg)
			}
			for _, a := range tc.after {
				if i := indexOf(names, a); i < 0 || i > me {
					t.Errorf("handlers %v: explain_errors must come after %s", names, a)
				}
			}
			for _, b := range tc.before {
				if i := indexOf(names, b); i < 0 || i < me {
					t.Errorf("handlers %v: explain_errors must come before %s", names, b)
				}
			}
		})
	}
}

func TestAdaptedJSON(t *testing.T) {
	cfg, err := adapt(t, `:8080 {
	explain_errors /api/* {
		log 409 412
		explain 4xx 502
		bare_max 1KiB
		excerpt 128
		stock_pages off
		handler_errors off
		site_name "Demo shop"
		contact ops@example.com
		template /etc/caddy/explain.html
		page 409 /etc/caddy/409.html
		log_rate 6000/m
		log_rate_interval 30s
	}
	reverse_proxy 127.0.0.1:9000
}`)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	h := findHandler(t, cfg, "explain_errors")
	if h == nil {
		t.Fatalf("no explain_errors handler in %s", cfg)
	}
	want := map[string]any{
		"handler":           "explain_errors",
		"log":               []any{"409", "412"},
		"explain":           []any{"4xx", "502"},
		"bare_max":          float64(1024),
		"excerpt":           float64(128),
		"stock_pages":       false,
		"handler_errors":    false,
		"site_name":         "Demo shop",
		"contact":           "ops@example.com",
		"template":          "/etc/caddy/explain.html",
		"pages":             map[string]any{"409": "/etc/caddy/409.html"},
		"log_rate":          "6000/m",
		"log_rate_interval": float64(30 * time.Second),
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("adapted handler\n got  %v\n want %v", h, want)
	}
	// the matcher went to the route, not into the handler
	if !strings.Contains(string(cfg), `"path":["/api/*"]`) {
		t.Errorf("matcher /api/* missing from %s", cfg)
	}
	// the JSON round-trips into a Handler that compiles
	raw, _ := json.Marshal(h)
	var back Handler
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	back.Template, back.Pages = "", nil // the files do not exist here
	newTestHandler(t, &back)
}

func TestAdaptErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"UnknownSubdirective", ":8080 {\n\texplain_errors {\n\t\tcolour red\n\t}\n}", []string{"colour", "Caddyfile:3"}},
		{"BadStatus", ":8080 {\n\texplain_errors {\n\t\tlog 99\n\t}\n}", []string{"log", "99", "Caddyfile:3"}},
		{"BadClass", ":8080 {\n\texplain_errors {\n\t\texplain 4yy\n\t}\n}", []string{"explain", "4yy", "Caddyfile:3"}},
		{"NegativeSize", ":8080 {\n\texplain_errors {\n\t\tbare_max -3\n\t}\n}", []string{"bare_max", "-3", "Caddyfile:3"}},
		{"MissingArgument", ":8080 {\n\texplain_errors {\n\t\texcerpt\n\t}\n}", []string{"excerpt", "Caddyfile:3"}},
		{"StockPagesMaybe", ":8080 {\n\texplain_errors {\n\t\tstock_pages maybe\n\t}\n}", []string{"stock_pages", "maybe", "Caddyfile:3"}},
		{"Status600", ":8080 {\n\texplain_errors {\n\t\texplain 600\n\t}\n}", []string{"explain", "600", "Caddyfile:3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adapt(t, tc.input)
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.input)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestCompileRejectsBadJSONConfig: JSON configs skip the Caddyfile's
// checks, so Provision must make them.
func TestCompileRejectsBadJSONConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    Handler
		want string
	}{
		{"NegativeBareMax", Handler{BareMax: intp(-1)}, "bare_max"},
		{"HugeBareMax", Handler{BareMax: intp(2 << 20)}, "bare_max"},
		{"NegativeExcerpt", Handler{Excerpt: intp(-1)}, "excerpt"},
		{"BadLogStatus", Handler{Log: []string{"99"}}, "log"},
		{"BadExplainClass", Handler{Explain: []string{"3xx"}}, "explain"},
		{"PageForClass", Handler{Pages: map[string]string{"4xx": "/x.html"}}, "4xx"},
		{"BadContact", Handler{Contact: "javascript:alert(1)"}, "contact"},
		{"BadHome", Handler{Home: "javascript:alert(1)"}, "home"},
		{"MissingTemplate", Handler{Template: "/nonexistent/explain.html"}, "/nonexistent/explain.html"},
		{"BadLogRate", Handler{LogRate: "lots"}, "log_rate"},
		{"NegativeLogRateInterval", Handler{LogRate: "1/s", LogRateInterval: caddy.Duration(-time.Second)}, "log_rate_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			err := h.compile()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("compile: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
