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
	// RequestID is the request's id ({http.request.uuid}); Time is when
	// the page was made, in RFC 3339 (UTC).
	RequestID, Time string
}

// Renderer renders pages and caches everything that does not change from
// one request to the next. It is safe for concurrent use.
type Renderer struct {
	opts       Options
	contactURL template.URL
	custom     *template.Template
	pages      map[int]*template.Template
	cache      sync.Map // cacheKey -> *Page
}

type cacheKey struct {
	code int
	lang Lang
	f    Format
}

// NewRenderer checks opts (contact, templates) and returns a Renderer. A
// template is parsed and executed once with sample data, so an error in it
// is reported here, naming its file and line, and not at request time.
func NewRenderer(opts Options) (*Renderer, error) {
	r := &Renderer{opts: opts}
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
		if err := t.Execute(io.Discard, r.data(code, Lang(i), "00000000-0000-0000-0000-000000000000", "2006-01-02T15:04:05Z")); err != nil {
			return err
		}
	}
	return nil
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

func (r *Renderer) data(code int, l Lang, id, ts string) *PageData {
	s, _ := Lookup(code)
	return &PageData{
		Code:       code,
		Reason:     s.Reason,
		Text:       r.pageText(code, l),
		UI:         r.pageUI(l),
		Note:       r.pageNote(code, l),
		Lang:       l.String(),
		Spec:       s.Spec(),
		SpecURL:    s.SpecURL(),
		SiteName:   r.opts.SiteName,
		Contact:    r.opts.Contact,
		ContactURL: r.contactURL,
		RequestID:  id,
		Time:       ts,
	}
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
}

type slot uint8

const (
	slotID slot = iota
	slotTime
)

// Sentinels stand for the per-request values while a page is rendered
// for the cache. They hold no character any escaper changes.
const (
	sentinelID   = "EXPLAINERRORSREQUESTIDx7q"
	sentinelTime = "EXPLAINERRORSTIMEx7q"
)

// Page returns the page for code in language l and format f, rendering it
// on first use.
func (r *Renderer) Page(code int, l Lang, f Format) (*Page, error) {
	k := cacheKey{code, l, f}
	if p, ok := r.cache.Load(k); ok {
		return p.(*Page), nil
	}
	p, err := r.build(code, l, f)
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

func (r *Renderer) build(code int, l Lang, f Format) (*Page, error) {
	p := &Page{ContentType: f.ContentType(), ContentLanguage: l.String()}
	d := r.data(code, l, sentinelID, sentinelTime)
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
		i := bytes.Index(b, []byte(sentinelID))
		j := bytes.Index(b, []byte(sentinelTime))
		if i < 0 && j < 0 {
			p.parts = append(p.parts, b)
			return
		}
		if j < 0 || (i >= 0 && i < j) {
			p.parts = append(p.parts, b[:i])
			p.slots = append(p.slots, slotID)
			b = b[i+len(sentinelID):]
		} else {
			p.parts = append(p.parts, b[:j])
			p.slots = append(p.slots, slotTime)
			b = b[j+len(sentinelTime):]
		}
	}
}

// TimeFormat is the layout of the time on pages.
const TimeFormat = "2006-01-02T15:04:05Z"

// Render writes the page for one request to w and returns the number of
// bytes written. id must be a request id of hex digits and dashes, as
// Caddy's {http.request.uuid} is; anything else is dropped from the page.
func (p *Page) Render(w io.Writer, id string, t time.Time) (int64, error) {
	if !safeID(id) {
		id = ""
	}
	var tb [len(TimeFormat)]byte
	ts := t.UTC().AppendFormat(tb[:0], TimeFormat)
	if p.tmpl != nil {
		d := *p.data
		d.RequestID, d.Time = id, string(ts)
		var buf bytes.Buffer
		if err := p.tmpl.Execute(&buf, &d); err != nil {
			return 0, err
		}
		n, err := w.Write(buf.Bytes())
		return int64(n), err
	}
	var total int64
	for i, part := range p.parts {
		n, err := w.Write(part)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if i < len(p.slots) {
			if p.slots[i] == slotID {
				n, err = io.WriteString(w, id)
			} else {
				n, err = w.Write(ts)
			}
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
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
		if s == slotID {
			n += idLen
		} else {
			n += len(TimeFormat)
		}
	}
	return n
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
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail"`
	Instance  string   `json:"instance"`
	RequestID string   `json:"request_id"`
	Time      string   `json:"time"`
	Help      []string `json:"help"`
	Contact   string   `json:"contact,omitempty"`
}

func writeProblem(w io.Writer, d *PageData) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(problem{
		Type:      d.SpecURL,
		Title:     d.Text.Title,
		Status:    d.Code,
		Detail:    d.Text.What,
		Instance:  "urn:uuid:" + d.RequestID,
		RequestID: d.RequestID,
		Time:      d.Time,
		Help:      d.Text.Visitor,
		Contact:   string(d.ContactURL),
	})
}

func writeText(b *bytes.Buffer, d *PageData) {
	line := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteByte('\n')
	}
	head := fmt.Sprintf("%d %s", d.Code, d.Text.Title)
	if d.SiteName != "" {
		head += " · " + d.SiteName
	}
	line(head)
	line(strings.Repeat("=", len([]rune(head))))
	line(d.Text.Summary)
	line()
	line(d.UI.WhatHeading)
	line("  ", d.Text.What)
	line()
	line(d.UI.VisitorHeading)
	for _, v := range d.Text.Visitor {
		line("  - ", v)
	}
	line()
	line(d.UI.RequestID, ": ", d.RequestID)
	line(d.UI.Time, ": ", d.Time)
	if d.Contact != "" {
		line(d.UI.Contact, ": ", string(d.ContactURL))
	}
	line(d.UI.QuoteID)
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

// Builtin returns the built-in page for code, ignoring the owner's
// templates: the answer when one of them fails at render time.
func (r *Renderer) Builtin(code int, l Lang, f Format) (*Page, error) {
	plain := &Renderer{opts: r.opts, contactURL: r.contactURL}
	return plain.build(code, l, f)
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
			if p.slots[i] == slotID {
				dst = append(dst, id...)
			} else {
				dst = t.UTC().AppendFormat(dst, TimeFormat)
			}
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
