package integration

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser loads explanation pages, served by a real Caddy in front of
// an upstream that answers with bare error statuses, in a real headless
// Chromium: in light and dark mode, at phone and desktop widths, and checks
// what a visitor would see.
//
// Full-page screenshots go to the directory named by EXPLAIN_ARTIFACTS, or
// to a temporary directory that is logged. With EXPLAIN_README_SCREENSHOT
// set, the desktop light screenshot of the 409 page is also written to
// ../docs/page-409.png (it holds a request ID and a time, so it changes on
// every run and is not written by default).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (%v): install Debian's chromium package", chromiumPath, err)
		}
		t.Skipf("browser tests need %s (Debian's chromium package): %v", chromiumPath, err)
	}
	artifacts := os.Getenv("EXPLAIN_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots go to %s", artifacts)

	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /409 answers a bare 409, and so on: no body, no Content-Type
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || code < 400 || code > 599 {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
	}))
	// a contact, so the pages have their action row
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		contact ops@example.com
	}
	reverse_proxy %s
}`, up))

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// /dev/shm is 64 MB in a default container, too small for Chromium
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	start := time.Now()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))

	// The checks below are only worth something if they can fail: a page
	// that breaks its CSP, logs an error and loads an image must be caught.
	t.Run("ChecksCatchProblems", func(t *testing.T) {
		bad := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/csp":
				w.Header().Set("Content-Security-Policy", "default-src 'none'")
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(w, `<!doctype html><html lang="en"><style>h1{color:#777}</style><h1>CSP</h1>`)
			case "/noisy":
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(w, `<!doctype html><html lang="en"><body style="margin:0"><h1 style="color:#999;background:#fff">Noisy</h1>`+
					`<img src="/pixel.gif" alt=""><div style="width:3000px;height:1px"></div>`+
					`<script>console.error("control error")</script>`)
			default:
				http.NotFound(w, r)
			}
		}))
		o := visit(t, browserCtx, "http://"+bad+"/csp", "en-US,en;q=0.9", false, desktop)
		if len(o.cspViolations) == 0 {
			t.Error("a blocked inline style gave no securitypolicyviolation event")
		}
		if !slices.ContainsFunc(o.consoleErrors, func(e consoleEntry) bool { return isCSPMessage(e.text) }) {
			t.Errorf("a blocked inline style gave no CSP console message:%s", entriesText(o.consoleErrors))
		}
		o = visit(t, browserCtx, "http://"+bad+"/noisy", "en-US,en;q=0.9", false, desktop)
		if len(o.requests) < 2 {
			t.Errorf("a page with an image made %d requests: %q", len(o.requests), o.requests)
		}
		if !slices.ContainsFunc(o.consoleErrors, func(e consoleEntry) bool { return e.text == "control error" && e.level == "error" }) {
			t.Errorf("console.error went unseen:%s", entriesText(o.consoleErrors))
		}
		if len(o.requests) >= 2 && !slices.ContainsFunc(o.consoleErrors, func(e consoleEntry) bool { return isStatusEntry(e, o.requests[1], 404) }) {
			t.Errorf("the image's 404 went unseen:%s", entriesText(o.consoleErrors))
		}
		if o.m.ScrollWidth <= o.m.InnerWidth {
			t.Errorf("a 3000px wide element went unseen: scrollWidth %d, innerWidth %d", o.m.ScrollWidth, o.m.InnerWidth)
		}
		if len(o.m.Texts) == 0 {
			t.Fatal("no colours measured on the control page")
		}
		if c := contrast(t, o.m.Texts[0].Color, o.m.Texts[0].Backgrounds); c >= 4.5 {
			t.Errorf("#999 on white has contrast %.2f by this test's reckoning, want below 4.5", c)
		}
	})

	for _, code := range []int{409, 412, 423, 502} {
		want := heading(code, 0)
		if code == 409 && explain.TextFor(409, 0).Heading == "" {
			want = "Conflict"
		}
		for _, vp := range []viewport{phone, desktop} {
			t.Run(fmt.Sprintf("%d/%s", code, vp.name), func(t *testing.T) {
				url := fmt.Sprintf("%s/%d", in.base, code)
				var light, dark *observation
				for _, isDark := range []bool{false, true} {
					o := visit(t, browserCtx, url, "en-US,en;q=0.9", isDark, vp)
					checkPage(t, o, code, "en", want)
					shot := filepath.Join(artifacts, fmt.Sprintf("%d-en-%s-%s.png", code, vp.name, scheme(isDark)))
					writeFile(t, shot, o.screenshot)
					if code == 409 {
						if !isDark && vp == desktop {
							writeDocShot(t, "page-409.png", o.screenshot)
						}
						writeDocShot(t, fmt.Sprintf("page-409-%s-%s.png", vp.name, scheme(isDark)), o.screenshot)
					}
					if isDark {
						dark = o
					} else {
						light = o
					}
				}
				checkSchemes(t, light, dark)
			})
		}
	}

	t.Run("German", func(t *testing.T) {
		if !slices.Contains(explain.Languages(), "de") {
			t.Skipf("German is not in explain.Languages() yet: %v", explain.Languages())
		}
		de, ok := explain.ParseLang("de")
		if !ok {
			t.Fatal(`explain.ParseLang("de") failed though Languages() lists de`)
		}
		want := heading(409, de)
		for _, vp := range []viewport{phone, desktop} {
			o := visit(t, browserCtx, in.base+"/409", "de-DE,de;q=0.9", false, vp)
			checkPage(t, o, 409, "de", want)
			writeFile(t, filepath.Join(artifacts, fmt.Sprintf("409-de-%s-light.png", vp.name)), o.screenshot)
		}
	})

	t.Run("RightToLeft", func(t *testing.T) {
		for li, tag := range explain.Languages() {
			l := explain.Lang(li)
			if explain.UIFor(l).Dir != "rtl" {
				continue
			}
			for _, vp := range []viewport{phone, desktop} {
				o := visit(t, browserCtx, in.base+"/409", tag, false, vp)
				checkPage(t, o, 409, tag, heading(409, l))
				writeFile(t, filepath.Join(artifacts, fmt.Sprintf("409-%s-%s-light.png", tag, vp.name)), o.screenshot)
				writeDocShot(t, fmt.Sprintf("page-409-rtl-%s-%s.png", tag, vp.name), o.screenshot)
			}
			return // one right-to-left language is enough for the pictures
		}
		t.Skipf("no right-to-left language in explain.Languages() yet: %v", explain.Languages())
	})

	t.Run("EncodedPagesDecodeInChromium", func(t *testing.T) { testEncodedInChromium(t, browserCtx, up) })

	t.Run("Axe", func(t *testing.T) { testAxe(t, browserCtx, in.base) })
}

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	phone   = viewport{"phone", 390, 844, true}
	desktop = viewport{"desktop", 1280, 800, false}
)

func scheme(dark bool) string {
	if dark {
		return "dark"
	}
	return "light"
}

// metrics is what the page itself says about how it looks.
type metrics struct {
	Lang        string `json:"lang"`
	H1          string `json:"h1"`
	H1Visible   bool   `json:"h1Visible"`
	H1Why       string `json:"h1Why"`
	Dark        bool   `json:"dark"`
	HTMLBg      string `json:"htmlBg"`
	BodyBg      string `json:"bodyBg"`
	ScrollWidth int64  `json:"scrollWidth"`
	InnerWidth  int64  `json:"innerWidth"`
	// Texts holds, for h1 first and then other text elements, their
	// colour and the background colours from the element up to <html>.
	Texts []textColor `json:"texts"`
	CSP   []string    `json:"csp"`
	// Last is the text of the footer's last paragraph: there only when
	// the whole page arrived
	Last string `json:"last"`
}

type textColor struct {
	Selector    string   `json:"selector"`
	Color       string   `json:"color"`
	Backgrounds []string `json:"backgrounds"`
}

const metricsJS = `(() => {
	const cs = e => getComputedStyle(e);
	const h1 = document.querySelector('h1');
	let why = '';
	let visible = false;
	if (h1) {
		const r = h1.getBoundingClientRect(), s = cs(h1);
		if (r.width <= 0 || r.height <= 0) why = 'zero size';
		else if (s.display === 'none' || s.visibility !== 'visible') why = 'hidden: ' + s.display + ' ' + s.visibility;
		else if (parseFloat(s.opacity) < 0.99) why = 'opacity ' + s.opacity;
		else if (r.left < 0 || r.right > innerWidth || r.top < 0 || r.bottom > innerHeight) why = 'outside the first screen: ' + JSON.stringify(r);
		else visible = true;
	} else why = 'no h1';
	const texts = [];
	for (const sel of ['h1', '.code', '.summary', 'main p', 'li', 'footer', 'footer dt']) {
		const e = document.querySelector(sel);
		if (!e) continue;
		const bgs = [];
		for (let p = e; p; p = p.parentElement) bgs.push(cs(p).backgroundColor);
		texts.push({selector: sel, color: cs(e).color, backgrounds: bgs});
	}
	return {
		lang: document.documentElement.lang,
		h1: h1 ? h1.innerText.trim() : '',
		h1Visible: visible,
		h1Why: why,
		dark: matchMedia('(prefers-color-scheme: dark)').matches,
		htmlBg: cs(document.documentElement).backgroundColor,
		bodyBg: cs(document.body).backgroundColor,
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: innerWidth,
		texts: texts,
		csp: window.__cspViolations || [],
		last: (document.querySelector('footer p:last-child') || {}).innerText || '',
	};
})()`

// cspProbe records securitypolicyviolation events; DevTools runs it in
// every new document before the page's own content, exempt from the CSP.
const cspProbe = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`

// observation is what one page load showed.
type observation struct {
	resp          *network.Response
	requests      []string       // URLs of every request the tab made
	consoleErrors []consoleEntry // console errors, exceptions, error and CSP log entries
	cspViolations []string
	m             metrics
	screenshot    []byte
}

// visit loads url in a new tab of the browser with the given
// Accept-Language, colour scheme and viewport, and returns what it saw.
func visit(t *testing.T, browserCtx context.Context, url, acceptLanguage string, dark bool, vp viewport) *observation {
	t.Helper()
	o := new(observation)
	var mu sync.Mutex
	listener := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			o.requests = append(o.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			s := argsText(ev.Args)
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || isCSPMessage(s) {
				o.consoleErrors = append(o.consoleErrors, consoleEntry{source: "console", level: string(ev.Type), text: s})
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			s := d.Text
			if d.Exception != nil {
				s += " " + d.Exception.Description
			}
			o.consoleErrors = append(o.consoleErrors, consoleEntry{source: "exception", level: "error", text: s, url: d.URL})
		case *cdplog.EventEntryAdded:
			e := ev.Entry
			if e.Level == cdplog.EntryLevelError || e.Source == cdplog.EntrySourceSecurity || isCSPMessage(e.Text) {
				o.consoleErrors = append(o.consoleErrors, consoleEntry{source: string(e.Source), level: string(e.Level), text: e.Text, url: e.URL})
			}
		}
	}
	tabCtx, cancel := chromedp.NewContext(browserCtx, chromedp.WithListener(listener))
	defer cancel()
	tctx, tcancel := context.WithTimeout(tabCtx, 20*time.Second)
	defer tcancel()

	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	} else {
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateLandscape}
	}
	err := chromedp.Do(tctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": acceptLanguage},
			}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme(dark)}},
			}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
			return err
		}),
		chromedp.EmulateViewport(vp.width, vp.height, opts...),
	)
	if err != nil {
		t.Fatalf("preparing the tab: %v", err)
	}
	o.resp, err = chromedp.Run(tctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("%s: no visible h1: %v", url, err)
	}
	if o.m, err = chromedp.Run(tctx, chromedp.Evaluate[metrics](metricsJS)); err != nil {
		t.Fatalf("%s: measuring: %v", url, err)
	}
	if o.screenshot, err = chromedp.Run(tctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatalf("%s: screenshot: %v", url, err)
	}
	// events that arrived before the last reply have been seen; this
	// evaluation is one more round trip after the screenshot
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	o.cspViolations = o.m.CSP
	o.requests = slices.Clone(o.requests)
	o.consoleErrors = slices.Clone(o.consoleErrors)
	return o
}

// consoleEntry is one console message, exception or browser log entry.
type consoleEntry struct{ source, level, text, url string }

func (e consoleEntry) String() string {
	s := e.source + "/" + e.level + ": " + e.text
	if e.url != "" {
		s += " (" + e.url + ")"
	}
	return s
}

func entriesText(es []consoleEntry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString("\n\t" + e.String())
	}
	return b.String()
}

// isCSPMessage reports whether a console text reports a blocked action:
// older Chromium says "Refused to ...", newer "... violates the following
// Content Security Policy directive".
func isCSPMessage(s string) bool {
	return strings.Contains(s, "Refused to") || strings.Contains(s, "Content Security Policy")
}

// isStatusEntry reports whether e is the browser's own report that the
// document url answered with status code, which Chromium logs as a
// network error for every 4xx and 5xx document, whatever its content.
func isStatusEntry(e consoleEntry, url string, code int) bool {
	return e.source == string(cdplog.EntrySourceNetwork) && e.level == string(cdplog.EntryLevelError) && e.url == url &&
		strings.HasPrefix(e.text, fmt.Sprintf("Failed to load resource: the server responded with a status of %d ", code))
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a == nil:
		case a.Type == runtime.RemoteObjectTypeString:
			s, err := strconv.Unquote(string(a.Value))
			if err != nil {
				s = string(a.Value)
			}
			parts = append(parts, s)
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// checkPage checks one explanation page as loaded in the browser.
func checkPage(t *testing.T, o *observation, code int, lang, title string) {
	t.Helper()
	if o.resp.Status != int64(code) {
		t.Errorf("status %d, want %d", o.resp.Status, code)
	}
	if o.resp.MimeType != "text/html" {
		t.Errorf("MIME type %q, want text/html", o.resp.MimeType)
	}
	if csp := header(o.resp.Headers, "Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if o.m.Lang != lang {
		t.Errorf(`<html lang=%q>, want %q`, o.m.Lang, lang)
	}
	if o.m.H1 != title {
		t.Errorf("h1 %q, want %q", o.m.H1, title)
	}
	if !o.m.H1Visible {
		t.Errorf("h1 not visible: %s", o.m.H1Why)
	}
	// An error page's status is itself logged as an error; that entry,
	// and only that one, is expected. Seeing it also shows that the log
	// is being listened to.
	var status, others []consoleEntry
	for _, e := range o.consoleErrors {
		if isStatusEntry(e, o.resp.URL, code) {
			status = append(status, e)
		} else {
			others = append(others, e)
		}
	}
	if len(status) != 1 {
		t.Errorf("want Chromium's one log entry for status %d of %s, got %d (has Chromium reworded it?):%s", code, o.resp.URL, len(status), entriesText(o.consoleErrors))
	}
	if len(others) > 0 {
		t.Errorf("console errors:%s", entriesText(others))
	}
	if slices.ContainsFunc(o.consoleErrors, func(e consoleEntry) bool { return strings.Contains(e.text, "Refused to") }) {
		t.Errorf(`a "Refused to" message:%s`, entriesText(o.consoleErrors))
	}
	if len(o.cspViolations) > 0 {
		t.Errorf("CSP violations: %q", o.cspViolations)
	}
	if len(o.requests) != 1 || o.requests[0] != o.resp.URL {
		t.Errorf("%d requests, want only the page %s: %q", len(o.requests), o.resp.URL, o.requests)
	}
	if o.m.ScrollWidth > o.m.InnerWidth {
		t.Errorf("horizontal overflow: scrollWidth %d > innerWidth %d", o.m.ScrollWidth, o.m.InnerWidth)
	}
	if len(o.m.Texts) == 0 || o.m.Texts[0].Selector != "h1" {
		t.Fatalf("no colours measured: %+v", o.m.Texts)
	}
	for _, tc := range o.m.Texts {
		c := contrast(t, tc.Color, tc.Backgrounds)
		if c < 4.5 {
			t.Errorf("%s: %s on %v: contrast %.2f, want at least 4.5", tc.Selector, tc.Color, tc.Backgrounds, c)
		}
	}
	if !bytes.HasPrefix(o.screenshot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG")
	}
}

// checkSchemes compares the light and the dark rendering of one page.
func checkSchemes(t *testing.T, light, dark *observation) {
	t.Helper()
	if light.m.Dark || !dark.m.Dark {
		t.Fatalf("prefers-color-scheme emulation failed: dark matches %v in light mode, %v in dark mode", light.m.Dark, dark.m.Dark)
	}
	if light.m.HTMLBg == dark.m.HTMLBg {
		t.Errorf("html background %s in both light and dark mode", light.m.HTMLBg)
	}
	lb, db := parseColor(t, light.m.HTMLBg), parseColor(t, dark.m.HTMLBg)
	if l := luminance(lb); l < 0.7 {
		t.Errorf("light mode background %s is dark (luminance %.2f)", light.m.HTMLBg, l)
	}
	if l := luminance(db); l > 0.2 {
		t.Errorf("dark mode background %s is light (luminance %.2f)", dark.m.HTMLBg, l)
	}
	if light.m.Texts[0].Color == dark.m.Texts[0].Color {
		t.Errorf("h1 colour %s in both light and dark mode", light.m.Texts[0].Color)
	}
}

func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

type rgba struct{ r, g, b, a float64 }

// parseColor reads a computed colour: rgb(r, g, b) or rgba(r, g, b, a).
func parseColor(t *testing.T, s string) rgba {
	t.Helper()
	inner, ok := strings.CutPrefix(s, "rgba(")
	if !ok {
		inner, ok = strings.CutPrefix(s, "rgb(")
	}
	inner, ok2 := strings.CutSuffix(inner, ")")
	if !ok || !ok2 {
		t.Fatalf("cannot read colour %q", s)
	}
	f := strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(f) != 3 && len(f) != 4 {
		t.Fatalf("cannot read colour %q", s)
	}
	v := make([]float64, 4)
	v[3] = 1
	for i, x := range f {
		n, err := strconv.ParseFloat(x, 64)
		if err != nil {
			t.Fatalf("cannot read colour %q: %v", s, err)
		}
		v[i] = n
	}
	return rgba{v[0], v[1], v[2], v[3]}
}

// luminance is the WCAG 2 relative luminance of an opaque colour.
func luminance(c rgba) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast returns the WCAG contrast ratio of a text colour against the
// backgrounds behind it, innermost first, composited down to the first
// opaque one.
func contrast(t *testing.T, color string, backgrounds []string) float64 {
	t.Helper()
	var layers []rgba
	opaque := false
	for _, b := range backgrounds {
		c := parseColor(t, b)
		if c.a == 0 {
			continue
		}
		layers = append(layers, c)
		if c.a >= 1 {
			opaque = true
			break
		}
	}
	if !opaque {
		t.Fatalf("no opaque background behind the text: %v", backgrounds)
	}
	bg := layers[len(layers)-1]
	for i := len(layers) - 2; i >= 0; i-- {
		bg = over(layers[i], bg)
	}
	fg := over(parseColor(t, color), bg)
	l1, l2 := luminance(fg), luminance(bg)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// over composites c over an opaque background.
func over(c, bg rgba) rgba {
	return rgba{c.r*c.a + bg.r*(1-c.a), c.g*c.a + bg.g*(1-c.a), c.b*c.a + bg.b*(1-c.a), 1}
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
