package caddymodule

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// Default and greatest sizes of the monitor's store.
const (
	DefaultMonitorRecords = 500
	DefaultMonitorGroups  = 1000
	maxMonitorRecords     = 100_000
	maxMonitorGroups      = 1_000_000
)

// Bounds on what one conflict may cost the store, whatever the request
// carries: a record's JSON, and each string of a group's key or hints.
const (
	maxRecordBytes = 16 << 10
	maxKeyBytes    = 256
	maxHintBytes   = 512
	maxMethodBytes = 32
	hintsPerGroup  = 4
)

// monitorConfig is the part of Handler's configuration that sizes the
// monitor behind the admin API's /explain_errors/ endpoints. It is
// embedded in Handler, so its fields are the handler's.
type monitorConfig struct {
	// How many of the most recent conflict records the monitor keeps for
	// /explain_errors/recent. The monitor is one store for the whole
	// process: when several explain_errors handlers are configured, it
	// keeps as many as the largest value any of them asks for. 0 asks for
	// the default. Default: 500. EXPERIMENTAL.
	MonitorRecords int `json:"monitor_records,omitempty"`

	// How many groups (server, host, status, method, route) the monitor
	// keeps for /explain_errors/summary; the least recently seen group
	// falls out when a new one needs the room, and the summary counts how
	// many did. Several handlers combine as for monitor_records: the
	// largest value wins. 0 asks for the default. Default: 1000.
	// EXPERIMENTAL.
	MonitorGroups int `json:"monitor_groups,omitempty"`

	monitor *monitor
}

// monitors holds the one monitor of the process under monitorKey, counted
// by the handlers that use it: a config reload provisions the new
// handlers before it cleans up the old ones, so the store outlives every
// reload that keeps an explain_errors handler.
var monitors = caddy.NewUsagePool()

const monitorKey = "explain_errors.monitor"

// provisionMonitor takes the process's monitor, making it if this is the
// first handler, and asks it for this handler's sizes.
func (h *Handler) provisionMonitor() error {
	records, groups := h.MonitorRecords, h.MonitorGroups
	if records == 0 {
		records = DefaultMonitorRecords
	}
	if groups == 0 {
		groups = DefaultMonitorGroups
	}
	if records < 1 || records > maxMonitorRecords {
		return fmt.Errorf("explain_errors: monitor_records: %d: must be between 1 and %d", h.MonitorRecords, maxMonitorRecords)
	}
	if groups < 1 || groups > maxMonitorGroups {
		return fmt.Errorf("explain_errors: monitor_groups: %d: must be between 1 and %d", h.MonitorGroups, maxMonitorGroups)
	}
	v, _, err := monitors.LoadOrNew(monitorKey, func() (caddy.Destructor, error) {
		return newMonitor(time.Now), nil
	})
	if err != nil {
		return fmt.Errorf("explain_errors: monitor: %w", err)
	}
	h.monitor = v.(*monitor)
	h.monitor.attach(h, records, groups)
	return nil
}

// cleanupMonitor gives the monitor back. It may run more than once, and
// after a Provision that failed before it took the monitor.
func (h *Handler) cleanupMonitor() {
	if h.monitor == nil {
		return
	}
	h.monitor.detach(h)
	h.monitor = nil
	_, _ = monitors.Delete(monitorKey)
}

// currentMonitor returns the process's monitor and the number of handlers
// that hold it, without taking a reference; nil when no explain_errors
// handler is configured.
func currentMonitor() (*monitor, int) {
	var m *monitor
	monitors.Range(func(_, v any) bool {
		m, _ = v.(*monitor)
		return false
	})
	refs, _ := monitors.References(monitorKey)
	return m, refs
}

// parseMonitorOption reads monitor_records or monitor_groups.
func (m *Handler) parseMonitorOption(d *caddyfile.Dispenser, name string) error {
	v, err := oneArg(d, name)
	if err != nil {
		return err
	}
	limit := maxMonitorRecords
	if name == "monitor_groups" {
		limit = maxMonitorGroups
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit || strconv.Itoa(n) != v {
		return d.Errf("explain_errors: %s: %q: must be a whole number from 1 to %d", name, v, limit)
	}
	if name == "monitor_groups" {
		m.MonitorGroups = n
	} else {
		m.MonitorRecords = n
	}
	return nil
}

// monitorRecord is one conflict as /explain_errors/recent shows it.
type monitorRecord struct {
	at     time.Time
	status int
	host   string         // as the request named it, lowercased
	data   []byte         // the JSON object, or
	lazy   *pendingRecord // what it is encoded from when it is asked for
}

// json returns the record's JSON object.
func (r monitorRecord) json() []byte {
	if r.lazy != nil {
		return r.lazy.encode()
	}
	return r.data
}

type groupKey struct {
	server, host, method, route string
	status                      int
}

type hintCount struct {
	hint  string
	count uint64
}

// group counts the conflicts of one key. Counts by second and by minute
// make the last minute and the last hour exact to the second and to the
// minute: lastMinute is the current second and the 59 before it,
// lastHour the current minute and the 59 before it.
type group struct {
	key         groupKey
	first, last time.Time
	total       uint64
	secs, mins  [60]uint32
	secAt       int64 // the Unix second of secs' newest bucket
	minAt       int64 // the Unix minute of mins' newest bucket
	hints       [hintsPerGroup]hintCount
	otherHints  uint64 // conflicts whose hint did not fit in hints
}

// monitor is the store behind the admin endpoints: a ring of the last
// records and an LRU-bounded set of groups.
type monitor struct {
	mu      sync.Mutex
	now     func() time.Time
	started time.Time
	// the sizes each live handler asked for; the store has the largest
	wants map[*Handler][2]int

	ring  []monitorRecord // oldest at next when full
	next  int
	held  int
	total uint64 // every conflict since the store began

	groupCap int
	groups   map[groupKey]*list.Element
	lru      *list.List // of *group, most recently seen first
	evicted  uint64
}

func newMonitor(now func() time.Time) *monitor {
	return &monitor{
		now:     now,
		started: now(),
		wants:   make(map[*Handler][2]int),
		groups:  make(map[groupKey]*list.Element),
		lru:     list.New(),
	}
}

// Destruct lets the usage pool drop the store; it holds no goroutine or
// file, so there is nothing to stop.
func (m *monitor) Destruct() error { return nil }

func (m *monitor) attach(h *Handler, records, groups int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wants[h] = [2]int{records, groups}
	m.resize()
}

func (m *monitor) detach(h *Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.wants, h)
	if len(m.wants) > 0 {
		m.resize()
	}
}

// resize fits the store to the largest sizes asked for, keeping the
// newest records and the most recently seen groups.
func (m *monitor) resize() {
	records, groups := 0, 0
	for _, w := range m.wants {
		records, groups = max(records, w[0]), max(groups, w[1])
	}
	if records != len(m.ring) {
		keep := m.newest(records)
		ring := make([]monitorRecord, records)
		// keep is newest first; the ring stores oldest first
		for i := range keep {
			ring[len(keep)-1-i] = keep[i]
		}
		m.ring, m.held, m.next = ring, len(keep), len(keep)%records
	}
	m.groupCap = groups
	for m.lru.Len() > m.groupCap {
		m.evictOne()
	}
}

// newest returns up to n records, newest first.
func (m *monitor) newest(n int) []monitorRecord {
	n = min(n, m.held)
	out := make([]monitorRecord, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, m.ring[(m.next-i+len(m.ring))%len(m.ring)])
	}
	return out
}

func (m *monitor) evictOne() {
	e := m.lru.Back()
	if e == nil {
		return
	}
	delete(m.groups, e.Value.(*group).key)
	m.lru.Remove(e)
	m.evicted++
}

// add counts one conflict, seen at at, in its group and keeps its record.
func (m *monitor) add(at time.Time, key groupKey, hint string, data []byte) {
	m.put(key, hint, monitorRecord{at: at, status: key.status, host: key.host, data: data})
}

// put counts the conflict that rec records in its group, and keeps rec.
func (m *monitor) put(key groupKey, hint string, rec monitorRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total++
	g := m.group(key, rec.at)
	g.count(rec.at, hint)
	if len(m.ring) == 0 {
		return
	}
	m.ring[m.next] = rec
	m.next = (m.next + 1) % len(m.ring)
	m.held = min(m.held+1, len(m.ring))
}

func (m *monitor) group(key groupKey, at time.Time) *group {
	if e, ok := m.groups[key]; ok {
		m.lru.MoveToFront(e)
		return e.Value.(*group)
	}
	if m.lru.Len() >= m.groupCap {
		m.evictOne()
	}
	g := &group{key: key, first: at, secAt: at.Unix(), minAt: at.Unix() / 60}
	m.groups[key] = m.lru.PushFront(g)
	return g
}

func (g *group) count(at time.Time, hint string) {
	g.total++
	if at.After(g.last) {
		g.last = at
	}
	if at.Before(g.first) {
		g.first = at
	}
	// concurrent responses may arrive a little out of order: one older
	// than the buckets' newest goes into its own bucket while that is
	// still in the window
	s := at.Unix()
	advance(&g.secs, &g.secAt, s)
	advance(&g.mins, &g.minAt, s/60)
	if s > g.secAt-60 {
		g.secs[s%60]++
	}
	if s/60 > g.minAt-60 {
		g.mins[(s/60)%60]++
	}
	for i := range g.hints {
		switch g.hints[i].hint {
		case hint:
			g.hints[i].count++
			return
		case "":
			g.hints[i] = hintCount{hint: hint, count: 1}
			return
		}
	}
	g.otherHints++
}

// advance moves a bucket ring forward to unit now, clearing the buckets
// it passes. A clock that stepped back leaves the ring where it is.
func advance(b *[60]uint32, at *int64, now int64) {
	if now <= *at {
		return
	}
	for u := max(*at+1, now-59); u <= now; u++ {
		b[u%60] = 0
	}
	*at = now
}

// window sums the buckets of the 60 units ending at now.
func window(b *[60]uint32, at, now int64) uint64 {
	var n uint64
	for u := max(at-59, now-59); u <= min(at, now); u++ {
		n += uint64(b[u%60])
	}
	return n
}

// groupView is a group as /explain_errors/summary shows it.
type groupView struct {
	Server     string     `json:"server"`
	Host       string     `json:"host"`
	Status     int        `json:"status"`
	Method     string     `json:"method"`
	Route      string     `json:"route"`
	LastMinute uint64     `json:"last_minute"`
	LastHour   uint64     `json:"last_hour"`
	Total      uint64     `json:"total"`
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	Hints      []hintView `json:"hints"`
	OtherHints uint64     `json:"other_hints,omitempty"`
}

type hintView struct {
	Hint  string `json:"hint"`
	Count uint64 `json:"count"`
}

// summaryView is the body of /explain_errors/summary.
type summaryView struct {
	Now           time.Time   `json:"now"`
	Started       time.Time   `json:"started"`
	Handlers      int         `json:"handlers"`
	Total         uint64      `json:"total"`
	RecordsKept   int         `json:"records_kept"`
	RecordsCap    int         `json:"records_capacity"`
	GroupsKept    int         `json:"groups_kept"`
	GroupsCap     int         `json:"groups_capacity"`
	GroupsEvicted uint64      `json:"groups_evicted"`
	Groups        []groupView `json:"groups"`
}

// filter selects records and groups for the endpoints.
type filter struct {
	limit  int
	status *statusSet // nil for every status
	host   string
	since  time.Time
}

func (f *filter) wantHost(host string) bool {
	if f.host == "" {
		return true
	}
	if host == f.host {
		return true
	}
	h, _, err := net.SplitHostPort(host)
	return err == nil && h == f.host
}

func (f *filter) wantStatus(code int) bool {
	return f.status == nil || f.status.has(code)
}

// recent returns the JSON of the newest records that pass f, newest first.
// They are encoded outside the store's lock.
func (m *monitor) recent(f filter) [][]byte {
	var picked []monitorRecord
	m.mu.Lock()
	for _, r := range m.newest(m.held) {
		if len(picked) >= f.limit {
			break
		}
		// concurrent responses may enter the ring a little out of order,
		// so an older record does not end the search
		if !r.at.Before(f.since) && f.wantStatus(r.status) && f.wantHost(r.host) {
			picked = append(picked, r)
		}
	}
	m.mu.Unlock()
	out := make([][]byte, len(picked))
	for i, r := range picked {
		out[i] = r.json()
	}
	return out
}

// summary returns the groups that pass f, the busiest of the last hour
// first, and the store's sizes.
func (m *monitor) summary(f filter) summaryView {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	s := summaryView{
		Now:           now,
		Started:       m.started,
		Total:         m.total,
		RecordsKept:   m.held,
		RecordsCap:    len(m.ring),
		GroupsKept:    m.lru.Len(),
		GroupsCap:     m.groupCap,
		GroupsEvicted: m.evicted,
		Groups:        []groupView{},
	}
	sec := now.Unix()
	for e := m.lru.Front(); e != nil; e = e.Next() {
		g := e.Value.(*group)
		if !f.wantStatus(g.key.status) || !f.wantHost(g.key.host) || g.last.Before(f.since) {
			continue
		}
		v := groupView{
			Server: g.key.server, Host: g.key.host, Status: g.key.status,
			Method: g.key.method, Route: g.key.route,
			LastMinute: window(&g.secs, g.secAt, sec),
			LastHour:   window(&g.mins, g.minAt, sec/60),
			Total:      g.total,
			FirstSeen:  g.first, LastSeen: g.last,
			Hints:      []hintView{},
			OtherHints: g.otherHints,
		}
		for _, hc := range g.hints {
			if hc.hint != "" {
				v.Hints = append(v.Hints, hintView{hc.hint, hc.count})
			}
		}
		sortHints(v.Hints)
		s.Groups = append(s.Groups, v)
	}
	sortGroups(s.Groups)
	if len(s.Groups) > f.limit {
		s.Groups = s.Groups[:f.limit]
	}
	return s
}

// monitorAdd hands the response's conflict to the monitor: fields are
// the log record's, redacted the same way. It runs for every response that
// gets a record, before log_rate decides whether the record is written, so
// the monitor's counts include what log_rate left out.
func (w *writer) monitorAdd(fields []zap.Field, hint string) {
	m := w.h.monitor
	if m == nil {
		return
	}
	r := w.r
	key := groupKey{
		server: cut(serverName(r), maxKeyBytes),
		host:   cut(strings.ToLower(r.Host), maxKeyBytes),
		method: cut(r.Method, maxMethodBytes),
		route:  foldRoute(r.URL.EscapedPath()),
		status: w.status,
	}
	at := m.now()
	rec := monitorRecord{at: at, status: key.status, host: key.host}
	l := w.pendingRecord(at, key, fields, hint)
	if l.size <= maxRecordBytes {
		// Encoded when the admin API asks for it: most records are never
		// read, and the encoding is most of what the monitor costs.
		rec.lazy = l
	} else {
		// a huge request is cut to its essentials now, so that the ring
		// never keeps more than maxRecordBytes of it
		rec.data = l.encode()
	}
	m.put(key, cut(hint, maxHintBytes), rec)
}

// recordEncoder writes a record's fields as one JSON object, in the
// encoding Caddy's JSON log format gives them by default (durations in
// seconds).
var recordEncoder = zapcore.NewJSONEncoder(zapcore.EncoderConfig{EncodeDuration: zapcore.SecondsDurationEncoder})

// pendingRecord is a record the monitor keeps unencoded: the log record's
// fields, detached from the request and from the pooled writer, so that
// it can be encoded later without keeping either alive or seeing either
// change. What a field keeps is bounded by size, which the caller
// compares with maxRecordBytes.
type pendingRecord struct {
	at        time.Time
	logger    string
	key       groupKey
	fields    []zap.Field
	uri       string // as the request field has it: redacted unless the server logs credentials
	uuid      string
	source    string
	explained bool
	hint      string
	size      int // about the bytes the fields keep
}

func (w *writer) pendingRecord(at time.Time, key groupKey, fields []zap.Field, hint string) *pendingRecord {
	l := &pendingRecord{
		at: at, logger: w.h.logger.Name(), key: key,
		uuid: w.requestID(), source: "upstream", explained: w.explained, hint: hint,
	}
	if w.fromError {
		l.source = "handler"
	}
	var obs *explain.Observation
	l.fields = make([]zap.Field, len(fields))
	for i, f := range fields {
		switch v := f.Interface.(type) {
		case caddyhttp.LoggableHTTPRequest:
			v.Request = detachedRequest(v.Request)
			f = zap.Object(f.Key, v)
			l.uri = v.Request.RequestURI
			for k, vs := range v.Request.Header {
				l.size += len(k) + 4
				for _, s := range vs {
					l.size += len(s) + 3
				}
			}
			l.size += len(v.Request.RequestURI) + len(v.Request.Host) + len(v.Request.RemoteAddr)
		case *preconditions, *validators:
			// both read the writer's observation, which the next
			// request through this writer overwrites
			if obs == nil {
				obs = new(explain.Observation)
				*obs = w.obs
			}
			if _, pre := v.(*preconditions); pre {
				f = zap.Object(f.Key, (*preconditions)(obs))
			} else {
				f = zap.Object(f.Key, (*validators)(obs))
			}
		}
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType {
			l.size += len(err.Error())
		}
		l.size += len(f.Key) + len(f.String)
		l.fields[i] = f
	}
	if obs != nil {
		l.size += len(obs.IfMatch) + len(obs.IfNoneMatch) + len(obs.IfModifiedSince) + len(obs.IfUnmodifiedSince) +
			len(obs.If) + len(obs.LockToken) + len(obs.Overwrite) + len(obs.Depth) + len(obs.Destination) +
			len(obs.ETag) + len(obs.LastModified)
	}
	return l
}

// detachedRequest copies what Caddy's loggable request reads of r: the
// request line, the headers, the connection's TLS state and the client
// IP from Caddy's variables, and nothing else of its context or body.
// The header map is shared: nothing writes to it once the response is
// done.
func detachedRequest(r *http.Request) *http.Request {
	d := &http.Request{
		Method:           r.Method,
		Host:             r.Host,
		RequestURI:       r.RequestURI,
		Proto:            r.Proto,
		ProtoMajor:       r.ProtoMajor,
		ProtoMinor:       r.ProtoMinor,
		RemoteAddr:       r.RemoteAddr,
		Header:           r.Header,
		TransferEncoding: r.TransferEncoding,
	}
	if r.TLS != nil {
		t := *r.TLS
		d.TLS = &t
	}
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		d = d.WithContext(context.WithValue(context.Background(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip}))
	}
	return d
}

// encode writes the record: the time, the server and the folded route,
// then the log record's fields. One that would pass maxRecordBytes (a
// request with huge headers) is cut to its essentials and marked
// truncated.
func (l *pendingRecord) encode() []byte {
	head := []zap.Field{
		zap.String("ts", l.at.UTC().Format(time.RFC3339Nano)),
		zap.String("level", "warn"),
		zap.String("logger", l.logger),
		zap.String("msg", recordMessage(l.key.status)),
		zap.String("server", l.key.server),
		zap.String("route", l.key.route),
	}
	all := make([]zap.Field, 0, len(head)+len(l.fields))
	all = append(append(all, head...), l.fields...)
	if b := encodeFields(all); len(b) <= maxRecordBytes {
		return b
	}
	const part = 1 << 10
	short := append(head[:len(head):len(head)],
		zap.Int("status", l.key.status),
		zap.Object("request", headerPairs{"method", l.key.method, "host", l.key.host, "uri", cut(l.uri, part)}),
		zap.String("uuid", l.uuid),
		zap.String("source", l.source),
		zap.Bool("explained", l.explained),
		zap.String("hint", cut(l.hint, part)),
		zap.Bool("truncated", true),
	)
	return encodeFields(short)
}

func encodeFields(fields []zap.Field) []byte {
	buf, err := recordEncoder.EncodeEntry(zapcore.Entry{}, fields)
	if err != nil {
		return []byte(`{"error":"the record could not be encoded"}`)
	}
	b := []byte(strings.TrimSuffix(buf.String(), "\n"))
	buf.Free()
	return b
}

// cut shortens s to at most n bytes, at a character boundary, marking the
// cut with an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = strings.ToValidUTF8(s[:n-len("…")], "")
	return s + "…"
}

// foldRoute turns a request path into a route: segments that look like
// ids (numbers, UUIDs, hex strings of 16 digits or more) become :id, so
// that /orders/1234 and /orders/5678 are one route.
func foldRoute(path string) string {
	if path == "" {
		return "/"
	}
	var b strings.Builder
	b.Grow(min(len(path), maxKeyBytes))
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if idLike(seg) {
			b.WriteString(":id")
		} else {
			b.WriteString(seg)
		}
		if b.Len() > maxKeyBytes {
			break
		}
	}
	return cut(b.String(), maxKeyBytes)
}

func idLike(seg string) bool {
	if seg == "" {
		return false
	}
	digits, hex := true, true
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		isDigit := c >= '0' && c <= '9'
		digits = digits && isDigit
		hex = hex && (isDigit || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
	}
	return digits || hex && len(seg) >= 16 || isUUID(seg)
}

// isUUID reports the 8-4-4-4-12 form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// sortHints puts the most frequent hint first.
func sortHints(h []hintView) {
	slices.SortStableFunc(h, func(a, b hintView) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		}
		return strings.Compare(a.Hint, b.Hint)
	})
}

// sortGroups puts the busiest group of the last hour first, then the
// busiest since start, then the most recently seen; the key settles ties.
func sortGroups(g []groupView) {
	slices.SortFunc(g, func(a, b groupView) int {
		if a.LastHour != b.LastHour {
			return cmpDesc(a.LastHour, b.LastHour)
		}
		if a.Total != b.Total {
			return cmpDesc(a.Total, b.Total)
		}
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		for _, c := range []int{
			strings.Compare(a.Server, b.Server), strings.Compare(a.Host, b.Host),
			strings.Compare(a.Route, b.Route), strings.Compare(a.Method, b.Method),
			a.Status - b.Status,
		} {
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

func cmpDesc(a, b uint64) int {
	if a > b {
		return -1
	}
	return 1
}
