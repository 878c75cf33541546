package explain

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Options customize the pages of a Renderer.
type Options struct {
	// SiteName is shown in page titles and footers. Optional.
	SiteName string
	// Contact is a URL (http, https or mailto) or an e-mail address the
	// pages offer for reaching the site owner. Optional.
	Contact string
	// Template is the path of an html/template file that replaces the
	// built-in HTML page for every status. Its data is a PageData.
	Template string
	// Pages maps a status code to the path of an html/template file used
	// for that status alone; it wins over Template. Its data is a PageData.
	Pages map[int]string
	// Notes are the owner's own words for a status on this site, by status
	// code and then by BCP 47 language tag ("" for every language without
	// its own). Plain text, escaped like every other text.
	Notes map[int]map[string]string
	// Overrides replace catalog texts, by BCP 47 language tag ("" for
	// every language without its own) and then by catalog key
	// ("409.heading", "409.visitor.go_back_copy", "ui.home"; the keys of
	// explain/catalog/en.toml). See ParseOwnerCatalog.
	Overrides map[string]map[string]string
	// Home is the link the pages offer as their primary action. Default:
	// "/".
	Home string
	// ShowOwner puts the owner's notes (Text.Owner) on the visitor's page,
	// for staging sites. Default: false; the record and `caddy explain`
	// keep them either way.
	ShowOwner bool
}

// PageData is what an HTML template is executed with. All strings are
// plain text; html/template escapes them for where they are used.
type PageData struct {
	Code int
	// Reason is the registered English reason phrase, e.g. "Conflict".
	Reason string
	// Text holds the status's texts in the page's language: Title,
	// Summary, What, Where, Visitor and Owner.
	Text Text
	// UI holds the words around the texts in the page's language.
	UI *UI
	// Lang is the page's BCP 47 language tag, for <html lang>.
	Lang string
	// Spec and SpecURL name and link the defining specification.
	Spec, SpecURL string
	// SiteName and Contact are the owner's settings; ContactURL is Contact
	// as a link (an e-mail address becomes a mailto: URL).
	SiteName, Contact string
	ContactURL        template.URL
	// Note is the owner's own words for this status in the page's
	// language (Options.Notes), or "".
	Note string
	// Home is the link of the primary action (Options.Home).
	Home string
	// Action is the text of the page's one primary action: UI.TryAgain
	// when Retry is set, else UI.Home ("" when the language has none), and
	// ActionURL its link: "" (this same address) for trying again, else
	// Home.
	Action    string
	ActionURL template.URL
	// Retry is set on a 5xx answer to a safe method (GET, HEAD), where
	// asking again is safe.
	Retry bool
	// Wait says how long to wait before trying again, in the page's
	// language, from the response's Retry-After header (429 and 503), or "".
	Wait string
	// ShowOwner is Options.ShowOwner: the owner's notes are on the page.
	ShowOwner bool
	// RequestID is the request's id ({http.request.uuid}); Time is when
	// the page was made, in RFC 3339 (UTC), and Clock the same time for a
	// reader, as "2006-01-02 15:04 UTC".
	RequestID, Time, Clock string
}

// Heading is the page's heading: Text.Heading, or Text.Title when the
// language has no heading for the status.
func (d *PageData) Heading() string {
	if d.Text.Heading != "" {
		return d.Text.Heading
	}
	return d.Text.Title
}

// Dir is the page's text direction, UI.Dir, "ltr" when unset.
func (d *PageData) Dir() string {
	if d.UI != nil && d.UI.Dir == "rtl" {
		return "rtl"
	}
	return "ltr"
}

// Renderer renders pages and caches everything that does not change from
// one request to the next. It is safe for concurrent use.
type Renderer struct {
	opts       Options
	contactURL template.URL
	home       template.URL
	custom     *template.Template
	pages      map[int]*template.Template
	cache      sync.Map // cacheKey -> *Page
	builtin    sync.Map // cacheKey -> *Page, when templates replace the pages
}

type cacheKey struct {
	code int
	lang Lang
	f    Format
	v    Variant
}

// NewRenderer checks opts (contact, home, templates) and returns a
// Renderer. A template is parsed and executed once with sample data, so an
// error in it is reported here, naming its file and line, and not at
// request time.
func NewRenderer(opts Options) (*Renderer, error) {
	loaded()
	r := &Renderer{opts: opts, home: "/"}
	if err := checkOwnerWords(opts); err != nil {
		return nil, err
	}
	if opts.Contact != "" {
		u, err := contactURL(opts.Contact)
		if err != nil {
			return nil, fmt.Errorf("contact %q: %w", opts.Contact, err)
		}
		r.contactURL = template.URL(u)
	}
	if opts.Home != "" {
		u, err := homeURL(opts.Home)
		if err != nil {
			return nil, fmt.Errorf("home %q: %w", opts.Home, err)
		}
		r.home = template.URL(u)
	}
	if opts.Template != "" {
		t, err := parseTemplateFile(opts.Template)
		if err != nil {
			return nil, err
		}
		if err := r.tryTemplate(t, 409); err != nil {
			return nil, fmt.Errorf("template %s: %w", opts.Template, err)
		}
		r.custom = t
	}
	for code, file := range opts.Pages {
		if code < 400 || code > 599 {
			return nil, fmt.Errorf("page for status %d (%s): only 4xx and 5xx statuses have pages", code, file)
		}
		t, err := parseTemplateFile(file)
		if err != nil {
			return nil, err
		}
		if err := r.tryTemplate(t, code); err != nil {
			return nil, fmt.Errorf("page for status %d, %s: %w", code, file, err)
		}
		if r.pages == nil {
			r.pages = make(map[int]*template.Template)
		}
		r.pages[code] = t
	}
	return r, nil
}

func parseTemplateFile(file string) (*template.Template, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	// the template's name is its file, so parse errors read
	// "template: /etc/caddy/409.html:12: ..."
	t, err := template.New(file).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, err
	}
	return t, nil
}

// tryTemplate executes t with sample data in every language, so that a
// field that does not exist or a failing function shows up now.
func (r *Renderer) tryTemplate(t *template.Template, code int) error {
	for i := range langs {
		d := r.data(code, Lang(i), Variant{}, "00000000-0000-0000-0000-000000000000", "2006-01-02T15:04:05Z", "2006-01-02 15:04 UTC")
		if err := t.Execute(io.Discard, d); err != nil {
			return err
		}
	}
	return nil
}

// homeURL checks the primary action's link: a path on this site ("/",
// "/shop/") or an http(s) URL.
func homeURL(h string) (string, error) {
	u, err := url.Parse(h)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(h, "/") && !strings.HasPrefix(h, "//"):
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	default:
		return "", errors.New("must be a path starting with / or an http(s) URL")
	}
	return u.String(), nil
}

func contactURL(c string) (string, error) {
	if strings.Contains(c, "://") || strings.HasPrefix(c, "mailto:") {
		u, err := url.Parse(c)
		if err != nil {
			return "", err
		}
		switch u.Scheme {
		case "http", "https":
			if u.Host == "" {
				return "", errors.New("a URL needs a host")
			}
		case "mailto":
		default:
			return "", fmt.Errorf("scheme %q: use http, https or mailto", u.Scheme)
		}
		return u.String(), nil
	}
	a, err := mail.ParseAddress(c)
	if err != nil || a.Name != "" {
		return "", errors.New("must be an http(s) or mailto URL or an e-mail address")
	}
	return "mailto:" + a.Address, nil
}

func (r *Renderer) data(code int, l Lang, v Variant, id, ts, clock string) *PageData {
	s, _ := Lookup(code)
	ui := r.pageUI(l)
	d := &PageData{
		Code:       code,
		Reason:     s.Reason,
		Text:       r.pageText(code, l),
		UI:         ui,
		Note:       r.pageNote(code, l),
		Lang:       l.String(),
		Spec:       s.Spec(),
		SpecURL:    s.SpecURL(),
		SiteName:   r.opts.SiteName,
		Contact:    r.opts.Contact,
		ContactURL: r.contactURL,
		Home:       string(r.home),
		ShowOwner:  r.opts.ShowOwner,
		RequestID:  id,
		Time:       ts,
		Clock:      clock,
	}
	d.Retry = v.Retry
	if v.Retry && ui.TryAgain != "" {
		d.Action, d.ActionURL = ui.TryAgain, ""
	} else {
		d.Action, d.ActionURL = ui.Home, r.home
	}
	if v.Wait > 0 && strings.Contains(ui.RetryAfter, "{wait}") {
		d.Wait = strings.Replace(ui.RetryAfter, "{wait}", waitWords(v.Wait), 1)
	}
	return d
}

// Page is one status's page in one language and format, split around the
// places where the request id and the time go.
type Page struct {
	ContentType     string
	ContentLanguage string
	// CSP is the Content-Security-Policy for an HTML page, else "".
	CSP string

	parts [][]byte
	slots []slot // slots[i] goes after parts[i]

	// set when the page comes from an owner's template, which is executed
	// per request: escaping depends on where the template puts the values
	tmpl *template.Template
	data *PageData

	lenOnce sync.Once
	len36   string

	// the page's static parts compressed once, on first use
	encOnce [numEncodings]sync.Once
	enc     [numEncodings]*encodedPage
}

type slot uint8

const (
	slotID    slot = iota
	slotTime       // RFC 3339, for machines
	slotClock      // "2006-01-02 15:04 UTC", for readers
)

// Sentinels stand for the per-request values while a page is rendered
// for the cache. They hold no character any escaper changes.
const (
	sentinelID    = "EXPLAINERRORSREQUESTIDx7q"
	sentinelTime  = "EXPLAINERRORSTIMEx7q"
	sentinelClock = "EXPLAINERRORSCLOCKx7q"
)

var sentinels = [...]string{slotID: sentinelID, slotTime: sentinelTime, slotClock: sentinelClock}

// Page returns the page for code in language l and format f with no
// variant (the link home as the action, no wait), rendering it on first
// use.
func (r *Renderer) Page(code int, l Lang, f Format) (*Page, error) {
	return r.PageFor(code, l, f, Variant{})
}

// PageFor returns the page for code in language l and format f in variant
// v, rendering it on first use. Pages of 4xx and 5xx statuses are cached;
// a variant only exists where it applies (see MakeVariant), so the cache
// holds at most a few thousand pages.
func (r *Renderer) PageFor(code int, l Lang, f Format, v Variant) (*Page, error) {
	v = v.normalize(code)
	k := cacheKey{code, l, f, v}
	if p, ok := r.cache.Load(k); ok {
		return p.(*Page), nil
	}
	p, err := r.build(code, l, f, v)
	if err != nil {
		return nil, err
	}
	if code >= 400 && code <= 599 {
		// other codes are not cached, so the cache stays bounded
		actual, _ := r.cache.LoadOrStore(k, p)
		p = actual.(*Page)
	}
	return p, nil
}

func (r *Renderer) build(code int, l Lang, f Format, v Variant) (*Page, error) {
	p := &Page{ContentType: f.ContentType(), ContentLanguage: l.String()}
	d := r.data(code, l, v, sentinelID, sentinelTime, sentinelClock)
	var buf bytes.Buffer
	switch f {
	case FormatHTML:
		t := r.pages[code]
		if t == nil {
			t = r.custom
		}
		if t != nil {
			p.tmpl, p.data, p.CSP = t, d, customCSP
			return p, nil
		}
		p.CSP = builtinCSP
		if err := builtinHTML.Execute(&buf, d); err != nil {
			return nil, err
		}
	case FormatJSON:
		if err := writeProblem(&buf, d); err != nil {
			return nil, err
		}
	default:
		writeText(&buf, d)
	}
	p.split(buf.Bytes())
	return p, nil
}

// split cuts out at the sentinels.
func (p *Page) split(b []byte) {
	for {
		at, which := -1, slot(0)
		for s, sen := range sentinels {
			if i := bytes.Index(b, []byte(sen)); i >= 0 && (at < 0 || i < at) {
				at, which = i, slot(s)
			}
		}
		if at < 0 {
			p.parts = append(p.parts, b)
			return
		}
		p.parts = append(p.parts, b[:at])
		p.slots = append(p.slots, which)
		b = b[at+len(sentinels[which]):]
	}
}

// TimeFormat is the layout of the machine-readable time on pages, and
// ClockFormat that of the time shown to readers: ISO 8601 in UTC, which
// reads the same in every language.
const (
	TimeFormat  = "2006-01-02T15:04:05Z"
	ClockFormat = "2006-01-02 15:04 UTC"
)

// MaxTemplateBytes caps what an owner's template may render for one page:
// a page that grows past it is not sent, and the visitor gets the built-in
// page instead.
const MaxTemplateBytes = 256 << 10

// ErrTemplateOutput is the error Render returns, wrapped, when an owner's
// template renders nothing, more than MaxTemplateBytes, or bytes that are
// not UTF-8.
var ErrTemplateOutput = errors.New("template output unusable")

// Render writes the page for one request to w and returns the number of
// bytes written. id must be a request id of hex digits and dashes, as
// Caddy's {http.request.uuid} is; anything else is dropped from the page.
//
// An owner's template is executed into a buffer first, and nothing is
// written when it fails, panics, or renders nothing, more than
// MaxTemplateBytes or invalid UTF-8: the caller can still send another
// page.
func (p *Page) Render(w io.Writer, id string, t time.Time) (int64, error) {
	if !safeID(id) {
		id = ""
	}
	if p.tmpl != nil {
		b, err := p.execute(id, t)
		if err != nil {
			return 0, err
		}
		n, err := w.Write(b)
		return int64(n), err
	}
	var total int64
	var sb [64]byte
	for i, part := range p.parts {
		n, err := w.Write(part)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if i < len(p.slots) {
			n, err = w.Write(appendSlot(sb[:0], p.slots[i], id, t))
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// execute runs the owner's template for one request.
func (p *Page) execute(id string, t time.Time) (out []byte, err error) {
	d := *p.data
	d.RequestID = id
	d.Time = t.UTC().Format(TimeFormat)
	d.Clock = t.UTC().Format(ClockFormat)
	buf := &capBuffer{max: MaxTemplateBytes}
	defer func() {
		// html/template turns a panic in a called function into an
		// error; this catches what it lets through
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("template %s panicked: %v", p.tmpl.Name(), v)
		}
	}()
	if err := p.tmpl.Execute(buf, &d); err != nil {
		if buf.over {
			return nil, fmt.Errorf("template %s: %w: more than %d bytes", p.tmpl.Name(), ErrTemplateOutput, MaxTemplateBytes)
		}
		return nil, err
	}
	switch {
	case len(bytes.TrimSpace(buf.b)) == 0:
		return nil, fmt.Errorf("template %s: %w: it rendered nothing", p.tmpl.Name(), ErrTemplateOutput)
	case !utf8.Valid(buf.b):
		return nil, fmt.Errorf("template %s: %w: not valid UTF-8", p.tmpl.Name(), ErrTemplateOutput)
	}
	return buf.b, nil
}

// capBuffer is a buffer that refuses to grow past max bytes.
type capBuffer struct {
	b    []byte
	max  int
	over bool
}

var errTooLarge = errors.New("too large")

func (c *capBuffer) Write(p []byte) (int, error) {
	if len(c.b)+len(p) > c.max {
		c.over = true
		return 0, errTooLarge
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

// Execute renders the page for one request into a new slice: for owner
// templates, which have no length before they run. Built-in pages are
// appended as AppendTo does.
func (p *Page) Execute(id string, t time.Time) ([]byte, error) {
	if !safeID(id) {
		id = ""
	}
	if p.tmpl != nil {
		return p.execute(id, t)
	}
	return p.AppendTo(nil, id, t), nil
}

// Len returns the length Render writes for the request id id, or -1 when
// it is not known before rendering (owner templates).
func (p *Page) Len(id string) int {
	if p.tmpl != nil {
		return -1
	}
	if !safeID(id) {
		id = ""
	}
	return p.length(len(id))
}

// length is the page's length with an id of idLen bytes.
func (p *Page) length(idLen int) int {
	n := 0
	for _, part := range p.parts {
		n += len(part)
	}
	for _, s := range p.slots {
		n += slotLen(s, idLen)
	}
	return n
}

func slotLen(s slot, idLen int) int {
	switch s {
	case slotID:
		return idLen
	case slotTime:
		return len(TimeFormat)
	}
	return len(ClockFormat)
}

// appendSlot appends one per-request value.
func appendSlot(dst []byte, s slot, id string, t time.Time) []byte {
	switch s {
	case slotID:
		return append(dst, id...)
	case slotTime:
		return t.UTC().AppendFormat(dst, TimeFormat)
	}
	return t.UTC().AppendFormat(dst, ClockFormat)
}

func safeID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idByte[id[i]] {
			return false
		}
	}
	return true
}

// idByte marks the bytes a request id may hold: hex digits and dashes.
var idByte = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF-" {
		t[c] = true
	}
	return
}()

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Instance is "urn:uuid:" and the request id: the occurrence, as
	// RFC 9457, 3.1.5 defines it; the id is not repeated in a member of
	// its own, which keeps the page within 1 KiB in every language
	Instance string   `json:"instance"`
	Time     string   `json:"time"`
	Help     []string `json:"help,omitempty"`
	Contact  string   `json:"contact,omitempty"`
}

// writeProblem writes the RFC 9457 page: detail is the status's one
// sentence, help the steps for a program's developer (Text.Help), never the
// visitor's.
func writeProblem(w io.Writer, d *PageData) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(problem{
		Type:     d.SpecURL,
		Title:    d.Text.Title,
		Status:   d.Code,
		Detail:   d.Text.Summary,
		Instance: "urn:uuid:" + d.RequestID,
		Time:     d.Time,
		Help:     d.Text.Help,
		Contact:  string(d.ContactURL),
	})
}

// TextWidth is the column the text/plain page is wrapped at.
const TextWidth = 76

func writeText(b *bytes.Buffer, d *PageData) {
	line := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteByte('\n')
	}
	para := func(first, rest, s string) {
		b.WriteString(wrap(s, TextWidth, first, rest))
	}
	head := fmt.Sprintf("%d %s", d.Code, d.Text.Title)
	if d.SiteName != "" {
		head += " · " + d.SiteName
	}
	line(head)
	line(strings.Repeat("=", min(displayWidth(head), TextWidth)))
	if h := d.Heading(); h != d.Text.Title {
		para("", "", h)
	}
	if d.Text.Reassure != "" {
		para("", "", d.Text.Reassure)
	}
	line()
	para("", "", d.Text.What)
	if len(d.Text.Visitor) > 0 {
		line()
		line(d.UI.VisitorHeading)
		for _, v := range d.Text.Visitor {
			para("  - ", "    ", v)
		}
	}
	if d.Wait != "" {
		line()
		para("", "", d.Wait)
	}
	if d.Action != "" {
		line()
		if d.Retry {
			line(d.Action)
		} else {
			line(d.Action, ": ", d.Home)
		}
	}
	if d.Note != "" {
		line()
		line(d.UI.SiteNote)
		para("  ", "  ", d.Note)
	}
	if d.ShowOwner {
		line()
		line(d.UI.OwnerHeading)
		para("  ", "  ", d.Text.Where)
		for _, o := range d.Text.Owner {
			para("  - ", "    ", o)
		}
	}
	line()
	line(d.UI.RequestID, ": ", d.RequestID)
	line(d.UI.Time, ": ", d.Clock)
	if d.Contact != "" {
		line(d.UI.Contact, ": ", string(d.ContactURL))
	}
	para("", "", d.UI.QuoteID)
}

// Owner returns the owner's explanation of code in language l as plain
// text, for `caddy explain`.
func Owner(code int, l Lang) string {
	s, _ := Lookup(code)
	t := TextFor(code, l)
	ui := UIFor(l)
	var b strings.Builder
	if t.Title == s.Reason {
		fmt.Fprintf(&b, "%d %s\n%s\n\n", code, t.Title, t.Summary)
	} else {
		fmt.Fprintf(&b, "%d %s (%s)\n%s\n\n", code, t.Title, s.Reason, t.Summary)
	}
	fmt.Fprintf(&b, "%s\n  %s\n\n%s\n  %s\n\n%s\n", ui.WhatHeading, t.What, ui.WhereHeading, t.Where, ui.OwnerHeading)
	for _, o := range t.Owner {
		fmt.Fprintf(&b, "  - %s\n", o)
	}
	fmt.Fprintf(&b, "\n%s\n", ui.VisitorHeading)
	for _, v := range t.Visitor {
		fmt.Fprintf(&b, "  - %s\n", v)
	}
	fmt.Fprintf(&b, "\n%s: %s <%s>\n", ui.Spec, s.Spec(), s.SpecURL())
	return b.String()
}

const customCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var builtinCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// Builtin returns the built-in page for code in variant v, ignoring the
// owner's templates: the answer when one of them fails at render time.
func (r *Renderer) Builtin(code int, l Lang, f Format, v Variant) (*Page, error) {
	k := cacheKey{code, l, f, v.normalize(code)}
	if r.custom == nil && r.pages == nil {
		return r.PageFor(code, l, f, v)
	}
	if p, ok := r.builtin.Load(k); ok {
		return p.(*Page), nil
	}
	plain := &Renderer{opts: r.opts, contactURL: r.contactURL, home: r.home}
	p, err := plain.build(code, l, f, k.v)
	if err != nil {
		return nil, err
	}
	if code >= 400 && code <= 599 {
		actual, _ := r.builtin.LoadOrStore(k, p)
		p = actual.(*Page)
	}
	return p, nil
}

// AppendTo appends the page for one request to dst, as Render writes it.
// It is for built-in pages only (Len(id) >= 0).
func (p *Page) AppendTo(dst []byte, id string, t time.Time) []byte {
	if !safeID(id) {
		id = ""
	}
	for i, part := range p.parts {
		dst = append(dst, part...)
		if i < len(p.slots) {
			dst = appendSlot(dst, p.slots[i], id, t)
		}
	}
	return dst
}

// LenString is strconv.Itoa(p.Len(id)), remembered for ids of a uuid's
// length, which Caddy's request ids all have.
func (p *Page) LenString(id string) string {
	if p.tmpl == nil && len(id) == 36 && safeID(id) {
		p.lenOnce.Do(func() { p.len36 = strconv.Itoa(p.length(36)) })
		return p.len36
	}
	return strconv.Itoa(p.Len(id))
}
