// Package caddymodule is the Caddy glue of explain_errors: the handler and
// its configuration, the Caddyfile directive, the response writer and the
// conflict log record.
package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Default settings.
const (
	DefaultBareMax = 512
	DefaultExcerpt = 256
	// maxSize caps bare_max and excerpt: the module holds up to bare_max
	// bytes per response, and an excerpt goes into every record.
	maxSize = 1 << 20
)

// defaultLog is the default log set: the conflict class.
var defaultLog = []string{"409", "412", "423", "424", "428"}

// defaultExplain is the default explain set: every client and server error.
var defaultExplain = []string{"4xx", "5xx"}

// Handler watches every response that passes through it. For each response
// whose status is in the log set it writes one structured record at WARN
// when the response ends. Where a response whose status is in the explain
// set carries only a bare body (empty, short plain text, or a server's
// stock error page), it answers instead with an explanation page in the
// visitor's language and preferred format: HTML, RFC 9457 problem+json or
// plain text. Every other response passes through byte-identical.
type Handler struct {
	// Statuses whose responses get a log record: codes such as 409 and
	// classes such as 4xx. Default: 409 412 423 424 428.
	Log []string `json:"log,omitempty"`
	// Turns the log records off.
	LogOff bool `json:"log_off,omitempty"`

	// Statuses whose bare bodies are replaced by an explanation page.
	// Default: 4xx 5xx.
	Explain []string `json:"explain,omitempty"`
	// Turns the replacement off: the module only logs.
	ExplainOff bool `json:"explain_off,omitempty"`

	// The largest body, in bytes, that can be bare, and so the most the
	// module holds of any response while it decides. A body that grows past
	// it is released as it is and streamed on. Default: 512.
	BareMax *int `json:"bare_max,omitempty"`

	// How many bytes of a text-like body go into a record's body_excerpt.
	// 0 leaves excerpts out. Default: 256.
	Excerpt *int `json:"excerpt,omitempty"`

	// Whether the stock error pages of common servers (nginx, Apache,
	// Tomcat, lighttpd, HAProxy, Varnish, Python's http.server, Express)
	// count as bare. Default: true.
	StockPages *bool `json:"stock_pages,omitempty"`

	// Whether errors returned by the wrapped handlers (for example
	// reverse_proxy's 502 when no upstream answers) are explained and
	// logged by this module. When false they are all left to
	// handle_errors. When true, an error whose status is not in the
	// explain set is still returned unchanged. Default: true.
	HandlerErrors *bool `json:"handler_errors,omitempty"`

	// A name for the site, shown on pages. Optional.
	SiteName string `json:"site_name,omitempty"`

	// How visitors reach the site owner: an http(s) or mailto URL, or an
	// e-mail address. Shown on pages. Optional.
	Contact string `json:"contact,omitempty"`

	// The link the pages offer as their primary action: a path on this
	// site ("/shop/") or an http(s) URL. Default: "/".
	Home string `json:"home,omitempty"`

	// Puts the owner's notes (likely causes and fixes) on the visitor's
	// page, for a staging site. The log record and `caddy explain` have
	// them either way. Default: false.
	ShowOwnerNotes bool `json:"show_owner_notes,omitempty"`

	// The path of an html/template file that replaces the built-in HTML
	// page for every status. Its data is explain.PageData: .Code, .Reason,
	// .Text (.Title .Summary .What .Where .Visitor .Owner), .UI, .Lang,
	// .Spec, .SpecURL, .SiteName, .Contact, .ContactURL, .RequestID and
	// .Time. It is parsed and tried at provision. Optional.
	Template string `json:"template,omitempty"`

	// Per-status page files, by status code ("409"), with the same data as
	// template; they win over it. Optional.
	Pages map[string]string `json:"pages,omitempty"`

	// The owner's own words for a status on this site, shown on its page
	// under "On this site": by status code ("409"), then by BCP 47
	// language tag ("" for every language without a note of its own). A
	// tag stands for the served language it matches (de-AT is German).
	// Plain text, escaped like every other text. Optional.
	Notes map[string]map[string]string `json:"notes,omitempty"`

	// Owner catalog files, each overriding the built-in texts and adding
	// notes, for one language or for every language. Read and checked at
	// provision; errors name the file and the line. Optional.
	Catalogs []Catalog `json:"catalogs,omitempty"`

	// Caps the log records of each status, e.g. "100/s" or "6000/m", so a
	// storm of conflicts cannot fill a disk. Records over the cap are left
	// out and counted; a summary record per status says how many, every
	// log_rate_interval. Metrics count every response either way. Default:
	// no cap.
	LogRate string `json:"log_rate,omitempty"`

	// How often the summary of suppressed records is written. Default: 10s.
	LogRateInterval caddy.Duration `json:"log_rate_interval,omitempty"`

	// monitor_records and monitor_groups, and the monitor (monitor.go)
	monitorConfig

	logSet, explainSet statusSet
	bareMax, excerpt   int
	stockPages         bool
	handlerErrors      bool
	renderer           *explain.Renderer
	langs              *explain.LangCache
	logger             *zap.Logger
	pool               *sync.Pool
	metrics            *metrics
	flood              *flood
	limit              rate.Limit
	burst              int
	// how long a held response may wait after a flush; tests shorten it
	flushRelease time.Duration
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.explain_errors",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, compiles the status sets and prepares the
// page renderer.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.compile(); err != nil {
		return err
	}
	h.pool = &sync.Pool{New: func() any { return new(writer) }}
	var err error
	if h.metrics, err = newMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("explain_errors: metrics: %w", err)
	}
	if h.LogRate != "" {
		interval := time.Duration(h.LogRateInterval)
		if interval <= 0 {
			interval = 10 * time.Second
		}
		h.flood = newFlood(h.limit, h.burst, interval, h.logger)
	}
	return h.provisionMonitor()
}

// Cleanup stops the summaries of suppressed records, writing the last one.
func (h *Handler) Cleanup() error {
	if h.flood != nil {
		h.flood.close()
	}
	h.cleanupMonitor()
	return nil
}

// compile turns the configuration into the handler's working state. It
// is Provision without a Caddy context, so tests and Validate share it.
func (h *Handler) compile() error {
	var err error
	logSpecs, explainSpecs := h.Log, h.Explain
	if logSpecs == nil {
		logSpecs = defaultLog
	}
	if explainSpecs == nil {
		explainSpecs = defaultExplain
	}
	if h.logSet, err = parseStatuses(logSpecs); err != nil {
		return fmt.Errorf("explain_errors: log: %w", err)
	}
	if h.explainSet, err = parseStatuses(explainSpecs); err != nil {
		return fmt.Errorf("explain_errors: explain: %w", err)
	}
	if h.LogOff {
		h.logSet = statusSet{}
	}
	if h.ExplainOff {
		h.explainSet = statusSet{}
	}
	h.bareMax, h.excerpt = DefaultBareMax, DefaultExcerpt
	if h.BareMax != nil {
		h.bareMax = *h.BareMax
	}
	if h.Excerpt != nil {
		h.excerpt = *h.Excerpt
	}
	if h.bareMax < 0 || h.bareMax > maxSize {
		return fmt.Errorf("explain_errors: bare_max: %d: must be between 0 and %d bytes", h.bareMax, maxSize)
	}
	if h.excerpt < 0 || h.excerpt > maxSize {
		return fmt.Errorf("explain_errors: excerpt: %d: must be between 0 and %d bytes", h.excerpt, maxSize)
	}
	if h.LogRate != "" {
		if h.limit, h.burst, err = parseRate(h.LogRate); err != nil {
			return fmt.Errorf("explain_errors: log_rate: %w", err)
		}
	}
	if h.LogRateInterval < 0 {
		return fmt.Errorf("explain_errors: log_rate_interval: %v: must not be negative", time.Duration(h.LogRateInterval))
	}
	h.stockPages = h.StockPages == nil || *h.StockPages
	if h.flushRelease <= 0 {
		h.flushRelease = DefaultFlushRelease
	}
	h.handlerErrors = h.HandlerErrors == nil || *h.HandlerErrors

	opts := explain.Options{SiteName: h.SiteName, Contact: h.Contact, Template: h.Template,
		Home: h.Home, ShowOwner: h.ShowOwnerNotes}
	for k, file := range h.Pages {
		code, err := strconv.Atoi(k)
		if err != nil || code < 400 || code > 599 {
			return fmt.Errorf("explain_errors: pages: %q: must be a 4xx or 5xx status code", k)
		}
		if _, dup := opts.Pages[code]; dup {
			return fmt.Errorf("explain_errors: pages: status %d is named twice", code)
		}
		if opts.Pages == nil {
			opts.Pages = make(map[int]string)
		}
		opts.Pages[code] = file
	}
	if err := h.ownerWords(&opts); err != nil {
		return err
	}
	h.langs = new(explain.LangCache)
	if h.renderer, err = explain.NewRenderer(opts); err != nil {
		return fmt.Errorf("explain_errors: %w", err)
	}
	return nil
}

// Validate checks the configuration. Provision has already compiled it,
// so what is left is to say so when it cannot do anything.
func (h *Handler) Validate() error {
	if h.renderer == nil {
		return errors.New("explain_errors: not provisioned")
	}
	return nil
}

// ServeHTTP wraps the response writer, lets the rest of the chain write the
// response, and then finishes it: a held body is released or replaced and
// the log record is written.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	w := h.pool.Get().(*writer)
	w.reset(h, rw, r)
	finished := false
	defer func() {
		if !finished {
			// The chain panicked (http.ErrAbortHandler included). What
			// was held and the record are still owed; the panic goes on
			// to Caddy as it was.
			w.abandon()
			return
		}
		if w.poolable {
			w.release()
			h.pool.Put(w)
		}
	}()
	err := next.ServeHTTP(w, r)
	err = w.finish(err)
	finished = true
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
