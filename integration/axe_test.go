package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// axeFile is axe-core as npm installs it from integration/axe (npm ci;
// .ci/install.d/40-axe.sh does it in CI).
const axeFile = "axe/node_modules/axe-core/axe.min.js"

// axeTags are the WCAG 2.2 AA rule sets; color-contrast-enhanced (AAA
// contrast, 7:1 for body text) runs on top of them.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeJS runs axe-core on the document with exactly the rules of axeTags
// and color-contrast-enhanced, and returns the violations; with the page
// state that the fold check needs.
var axeJS = `(async () => {
	const rules = axe.getRules(` + jsonString(axeTags) + `).map(r => r.ruleId).concat(['color-contrast-enhanced']);
	const res = await axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']});
	const act = document.querySelector('.a');
	return {
		rules: rules.length,
		violations: res.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\n').join(' '))})),
		dir: document.documentElement.dir,
		actionBottom: act ? act.getBoundingClientRect().bottom : -1,
		innerHeight: innerHeight,
	};
})()`

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type axeResult struct {
	Rules      int `json:"rules"`
	Violations []struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	} `json:"violations"`
	Dir          string  `json:"dir"`
	ActionBottom float64 `json:"actionBottom"`
	InnerHeight  float64 `json:"innerHeight"`
}

// smallPhone is the narrowest phone a page must serve: its action above
// the fold at 320 px.
var smallPhone = viewport{"phone320", 320, 568, true}

// testAxe loads every status's page in every language once, in one tab,
// and runs axe-core on it at a small phone's and a desktop's size, in
// light and dark mode, switching the emulation without reloading.
func testAxe(t *testing.T, browserCtx context.Context, base string) {
	src, err := os.ReadFile(axeFile)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (%v): run npm ci in integration/axe", axeFile, err)
		}
		t.Skipf("axe-core not installed (%v): cd integration/axe && npm ci", err)
	}
	start := time.Now()
	tabCtx, cancel := chromedp.NewContext(browserCtx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(tabCtx, 10*time.Minute)
	defer cancelT()
	// axe is added to every document before its own content, as DevTools
	// scripts are, so the page's CSP does not block it
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: string(src)})
		return err
	})); err != nil {
		t.Fatalf("preparing the tab: %v", err)
	}
	// the check is only worth something if it can fail: a control page
	// with text at 4.5:1 (AA, not AAA), another at 2.8:1, no lang
	control := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><title>control</title><main><p style="color:#767676;background:#fff">AA only</p><p style="color:#999;background:#fff">too light</p></main></html>`)
	}))
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse("http://"+control+"/")); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on the control page: %v", err)
	}
	seen := map[string]bool{}
	for _, v := range res.Violations {
		seen[v.ID] = true
	}
	for _, id := range []string{"html-has-lang", "color-contrast", "color-contrast-enhanced"} {
		if !seen[id] {
			t.Errorf("axe missed %s on the control page: %+v", id, res.Violations)
		}
	}

	codes := append(explain.Codes(), 599)
	runs, overFold, rtl := 0, 0, 0
	newTexts := explain.TextFor(409, 0).Heading != ""
	for li, tag := range explain.Languages() {
		l := explain.Lang(li)
		if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": tag}})
			return err
		})); err != nil {
			t.Fatal(err)
		}
		wantDir := "ltr"
		if explain.UIFor(l).Dir == "rtl" {
			wantDir = "rtl"
			rtl++
		}
		for _, code := range codes {
			if code == http.StatusProxyAuthRequired {
				// Chromium shows no page for a 407 from an origin server
				// (net::ERR_UNEXPECTED_PROXY_AUTH); it gets a proxy's 407
				// only, as a prompt
				continue
			}
			url := fmt.Sprintf("%s/%d", base, code)
			if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(url)); err != nil {
				t.Fatalf("loading %s: %v", url, err)
			}
			for _, vp := range []viewport{smallPhone, desktop} {
				opts := []chromedp.EmulateViewportOption{chromedp.EmulateLandscape}
				if vp.mobile {
					opts = []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch}
				}
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
					t.Fatal(err)
				}
				for _, dark := range []bool{false, true} {
					if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
						_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
							Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme(dark)}},
						})
						return err
					})); err != nil {
						t.Fatal(err)
					}
					res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeJS, chromedp.EvalAwaitPromise))
					if err != nil {
						t.Fatalf("%s %d %s %s: axe: %v", tag, code, vp.name, scheme(dark), err)
					}
					runs++
					if res.Rules < 50 {
						t.Fatalf("axe ran only %d rules", res.Rules)
					}
					for _, v := range res.Violations {
						t.Errorf("%s %d %s %s: %s (%s): %s\n\t%s", tag, code, vp.name, scheme(dark), v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
					}
					if res.Dir != wantDir {
						t.Errorf("%s %d: dir %q, want %q", tag, code, res.Dir, wantDir)
					}
					if vp == smallPhone && !dark && res.ActionBottom > res.InnerHeight {
						overFold++
						if newTexts {
							t.Errorf("%s %d: the action ends at %.0f px, below the fold of a %d px phone (%.0f px)", tag, code, res.ActionBottom, vp.width, res.InnerHeight)
						}
					}
				}
			}
		}
	}
	t.Logf("axe-core: %d runs (%d languages, %d of them right-to-left, %d statuses, 2 sizes, 2 schemes) in %v",
		runs, len(explain.Languages()), rtl, len(codes), time.Since(start).Round(time.Millisecond))
	if overFold > 0 {
		t.Logf("%d pages have their action below the fold at 320 px (checked as an error once the visitor-first texts are in: %v)", overFold, newTexts)
	}
}

// testEncodedInChromium loads the page through Caddy's encode, where the
// page arrives in zstd (Chromium asks for it) or gzip (the request's
// Accept-Encoding cut to gzip before the module sees it), and checks that
// Chromium decodes it whole.
func testEncodedInChromium(t *testing.T, browserCtx context.Context, up string) {
	for _, coding := range []string{"zstd", "gzip"} {
		t.Run(coding, func(t *testing.T) {
			pre := ""
			if coding == "gzip" {
				pre = "request_header Accept-Encoding gzip"
			}
			in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	%s
	encode gzip zstd
	explain_errors
	reverse_proxy %s
}`, pre, up))
			o := visit(t, browserCtx, in.base+"/409", "en-US,en;q=0.9", false, desktop)
			checkPage(t, o, 409, "en", heading(409, 0))
			if got := header(o.resp.Headers, "Content-Encoding"); got != coding {
				t.Fatalf("Content-Encoding %q, want %q", got, coding)
			}
			// the whole page: its last paragraph is there
			if o.m.Last != explain.UIFor(0).QuoteID {
				t.Fatalf("footer's last paragraph %q, want %q", o.m.Last, explain.UIFor(0).QuoteID)
			}
			// and what Go decodes of the same response is the same page
			resp, body := in.do("GET", "/409", map[string]string{"Accept": browserAccept, "Accept-Encoding": "gzip, deflate, br, zstd"}, nil)
			if resp.Header.Get("Content-Encoding") == "" || resp.ContentLength != int64(len(body)) {
				t.Fatalf("Go client: Content-Encoding %q, Content-Length %d for %d bytes", resp.Header.Get("Content-Encoding"), resp.ContentLength, len(body))
			}
		})
	}
}

// heading is the page's h1 for code in l: the status's heading, or its
// title where the language has none.
func heading(code int, l explain.Lang) string {
	if h := explain.TextFor(code, l).Heading; h != "" {
		return h
	}
	return explain.TextFor(code, l).Title
}

// headingHTML is heading as it stands in the page's source.
func headingHTML(code int, l explain.Lang) string {
	return template.HTMLEscapeString(heading(code, l))
}

// writeDocShot writes a screenshot into ../docs when
// EXPLAIN_README_SCREENSHOT is set (they hold a request id and a time, so
// they change on every run).
func writeDocShot(t *testing.T, name string, png []byte) {
	if os.Getenv("EXPLAIN_README_SCREENSHOT") == "" {
		return
	}
	if err := os.MkdirAll("../docs", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join("../docs", name), png)
	t.Logf("wrote ../docs/%s", name)
}
