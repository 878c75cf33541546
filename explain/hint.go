package explain

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Observation is what the module saw of one error response, for Hint.
// ObserveRequest fills the request's side, bounded.
type Observation struct {
	Method string
	Status int
	// the request's preconditions; a header sent on several lines is
	// joined with ", "
	IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince string
	// the WebDAV If and Lock-Token request headers
	If, LockToken string
	// the WebDAV Overwrite, Depth and Destination request headers
	Overwrite, Depth, Destination string
	// the request's Host and scheme ("http" or "https") as they reached
	// the module, to compare with Destination
	Host, Scheme string
	// the response's validators
	ETag, LastModified string
	ContentType        string
	// Source is "upstream" for a response the wrapped handlers wrote and
	// "handler" for an error they returned.
	Source string
	// Err is the error's message when Source is "handler".
	Err string
}

// Diagnosis is one row of the hint table: which rule matched, what the
// observation means, and what the site owner should do next.
type Diagnosis struct {
	ID   string
	What string
	Do   string
}

// Hint is the diagnosis as one line: what happened; what to do.
func (d Diagnosis) Hint() string { return d.What + "; " + d.Do }

// Hint returns one line for the site owner: the likeliest reason for the
// response, from what the module saw, and what to do next. It never
// returns "".
func Hint(o Observation) string { return Diagnose(o).Hint() }

// Diagnose runs the observation through the hint table and returns the
// first row that applies. The rows follow the order in which a server
// evaluates preconditions (RFC 9110, Section 13.2.2): If-Match, then
// If-Unmodified-Since only without If-Match, then If-None-Match.
func Diagnose(o Observation) Diagnosis {
	f := newFacts(&o)
	for i := range hintTable {
		r := &hintTable[i]
		if r.status != 0 && r.status != o.Status {
			continue
		}
		if r.when(f) {
			what, do := r.say(f)
			return Diagnosis{ID: r.id, What: what, Do: do}
		}
	}
	// unreachable: the table ends with a row for any status
	return Diagnosis{ID: "status", What: fmt.Sprintf("%s answered %d", f.m, o.Status), Do: "see caddy explain for its causes"}
}

// HintRules returns the ids of the table's rows in the order they are
// tried, for documentation and tests.
func HintRules() []string {
	ids := make([]string, len(hintTable))
	for i, r := range hintTable {
		ids[i] = r.id
	}
	return ids
}

type hintRule struct {
	id     string
	status int // 0: any status
	when   func(f *facts) bool
	say    func(f *facts) (what, do string)
}

// facts is an observation parsed once for the table.
type facts struct {
	o *Observation
	m string // the method, for the hint

	im, inm       ETagList
	imErr, inmErr error

	etag    EntityTag
	etagErr error // non-nil also when there is no ETag

	lm, ius         time.Time
	lmOK, iusOK     bool
	ifh             ifHeader
	ifErr           error
	dest            *url.URL
	destErr         error
	copyMove        bool
	hasPrecondition bool
}

func newFacts(o *Observation) *facts {
	f := &facts{o: o, m: q(o.Method)}
	if f.m == "" {
		f.m = "the request"
	}
	if o.IfMatch != "" {
		f.im, f.imErr = ParseETagList(o.IfMatch)
	}
	if o.IfNoneMatch != "" {
		f.inm, f.inmErr = ParseETagList(o.IfNoneMatch)
	}
	f.etag, f.etagErr = ParseETag(o.ETag)
	if o.LastModified != "" {
		t, err := http.ParseTime(o.LastModified)
		f.lm, f.lmOK = t, err == nil
	}
	if o.IfUnmodifiedSince != "" {
		t, err := http.ParseTime(o.IfUnmodifiedSince)
		f.ius, f.iusOK = t, err == nil
	}
	if o.If != "" {
		f.ifh, f.ifErr = parseIfHeader(o.If)
	}
	if o.Destination != "" {
		f.dest, f.destErr = url.Parse(o.Destination)
	}
	f.copyMove = o.Method == "COPY" || o.Method == "MOVE"
	f.hasPrecondition = o.IfMatch != "" || o.IfNoneMatch != "" || o.IfUnmodifiedSince != "" || o.If != ""
	return f
}

func (f *facts) getOrHead() bool { return f.o.Method == "GET" || f.o.Method == "HEAD" }

// destOtherOrigin reports whether Destination names another scheme or
// host than the request's.
func (f *facts) destOtherOrigin() bool {
	if f.dest == nil || f.destErr != nil || f.dest.Host == "" || f.o.Host == "" {
		return false
	}
	if f.o.Scheme != "" && f.dest.Scheme != "" && !strings.EqualFold(f.dest.Scheme, f.o.Scheme) {
		return true
	}
	return !strings.EqualFold(withoutDefaultPort(f.dest.Host, f.dest.Scheme), withoutDefaultPort(f.o.Host, f.o.Scheme))
}

// withoutDefaultPort drops :80 from an http host and :443 from an https
// one, so "dav.example" and "dav.example:443" compare equal.
func withoutDefaultPort(host, scheme string) string {
	switch {
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(host, ":80")
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// encoderSuffixes are what compressing proxies append inside a strong
// ETag's quotes: Caddy's encode appends "-" and the encoding's name
// (gzip, zstd, br), Apache's mod_deflate "-gzip" (DeflateAlterETag
// AddSuffix, the default).
var encoderSuffixes = []string{"-gzip", "-zstd", "-br", "-deflate"}

func encoderSuffix(opaque string) string {
	for _, s := range encoderSuffixes {
		if strings.HasSuffix(opaque, s) && len(opaque) > len(s) {
			return s
		}
	}
	return ""
}

// suffixedTag returns the If-Match tag that is the current ETag (or, with
// no ETag known, any tag) plus an encoder's suffix.
func (f *facts) suffixedTag() (EntityTag, string, bool) {
	for _, t := range f.im.Tags {
		s := encoderSuffix(t.Opaque)
		if s == "" || t.Weak {
			continue
		}
		if f.etagErr != nil || strings.TrimSuffix(t.Opaque, s) == f.etag.Opaque {
			return t, s, true
		}
	}
	return EntityTag{}, "", false
}

func (f *facts) allWeak() bool {
	if f.im.Any || len(f.im.Tags) == 0 {
		return false
	}
	for _, t := range f.im.Tags {
		if !t.Weak {
			return false
		}
	}
	return true
}

// q quotes a header value in a hint: bounded, one line, valid UTF-8.
func q(s string) string {
	s = oneLine(s)
	if len(s) > 100 {
		s = strings.ToValidUTF8(s[:100], "") + "…"
	}
	return s
}

func yes(*facts) bool { return true }

// hintTable is tried in order; the first row whose status and condition
// hold gives the hint.
var hintTable = []hintRule{
	// ---- what cannot be compared at all
	{"precondition-too-long", 0, func(f *facts) bool {
		return conflictish(f.o.Status) && (wasCut(f.o.IfMatch) || wasCut(f.o.IfNoneMatch) || wasCut(f.o.If))
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried a precondition list longer than %d bytes, which the module does not read to the end, so it compared nothing", f.m, MaxObservedBytes),
			"find the client that sends it (a normal client sends one or a few entity tags or lock tokens); the request's record has its address"
	}},

	// ---- RFC 4918 Destination, Depth: the request line was refused
	{"destination-other-origin", 0, func(f *facts) bool {
		return f.copyMove && destStatus(f.o.Status) && f.destOtherOrigin()
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered %d with Destination %s, which names %s://%s, while the request reached this site as %s://%s: WebDAV servers refuse a Destination on another server (x/net/webdav answers 502 for another host, Apache mod_dav 502 for another scheme or port, nginx 400)", f.m, f.o.Status, q(f.o.Destination), q(f.dest.Scheme), q(f.dest.Host), f.o.Scheme, q(f.o.Host)),
			"if a TLS-terminating proxy in front rewrites scheme or host, rewrite Destination to match what this server sees (request_header Destination `^https://` `http://`), or fix the client that builds it"
	}},
	{"destination-upstream-refused", 502, func(f *facts) bool {
		return f.copyMove && f.o.Source != "handler" && f.o.Destination != ""
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("the upstream answered %s with Destination %s by 502, which WebDAV servers (x/net/webdav, Apache mod_dav) use for a Destination on another server: behind the proxy the upstream sees its own scheme and Host, not %s://%s", f.m, q(f.o.Destination), f.o.Scheme, q(f.o.Host)),
			"rewrite Destination to the upstream's scheme and host before reverse_proxy (request_header Destination `^https://` `http://`), and do not override Host with header_up unless Destination is rewritten too"
	}},
	{"destination-missing", 400, func(f *facts) bool { return f.copyMove && f.o.Destination == "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s without a Destination header was refused (RFC 4918, 10.3 requires one)", f.m),
			"fix the client: COPY and MOVE name their target in Destination"
	}},
	{"destination-same-as-source", 403, func(f *facts) bool { return f.copyMove && f.o.Destination != "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s to Destination %s was forbidden: the source and destination are the same resource, or the server does not allow that target (RFC 4918, 9.8.5)", f.m, q(f.o.Destination)),
			"choose another Destination; copying a collection into itself is never allowed"
	}},
	{"depth-not-allowed", 400, func(f *facts) bool { return f.o.Depth != "" && !depthAllowed(f.o.Method, f.o.Depth) }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with Depth: %s was refused: RFC 4918, 10.2 allows %s", f.m, q(f.o.Depth), depthRule(f.o.Method)),
			"fix the client's Depth header"
	}},
	{"propfind-depth-infinity", 403, func(f *facts) bool {
		return f.o.Method == "PROPFIND" && (f.o.Depth == "" || strings.EqualFold(f.o.Depth, "infinity"))
	}, func(f *facts) (string, string) {
		return "PROPFIND with Depth: infinity (also when Depth is absent) was forbidden: Apache mod_dav refuses it unless DavDepthInfinity is on, as RFC 4918, 9.1 allows",
			"have the client send Depth: 1 and walk the tree, or turn DavDepthInfinity on if the tree is small"
	}},

	// ---- 412: RFC 9110, 13.2.2 order, then RFC 4918
	{"get-if-none-match-412", 412, func(f *facts) bool {
		return f.getOrHead() && f.o.IfNoneMatch != "" && f.o.IfMatch == "" && f.o.IfUnmodifiedSince == "" && f.o.If == ""
	}, func(f *facts) (string, string) {
		if f.inmErr == nil && f.etagErr == nil && f.inm.WeakMatch(f.etag) {
			return fmt.Sprintf("%s with If-None-Match %s, which matches the current ETag %s, answered 412: for GET and HEAD a match must be 304 Not Modified (RFC 9110, 13.1.2), a server bug", f.m, q(f.o.IfNoneMatch), q(f.o.ETag)),
				"fix the upstream's conditional GET (answer 304 with the ETag); until then caches and browsers re-fetch or show an error"
		}
		return fmt.Sprintf("%s with only If-None-Match %s answered 412, which that header can never cause on GET or HEAD (a match is 304, no match is 200: RFC 9110, 13.1.2), a server bug", f.m, q(f.o.IfNoneMatch)),
			"fix the upstream's conditional GET to answer 304 on a match and 200 otherwise"
	}},
	{"overwrite-f", 412, func(f *facts) bool {
		return f.copyMove && strings.EqualFold(strings.TrimSpace(f.o.Overwrite), "F") && f.o.IfMatch == "" && f.o.If == ""
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with Overwrite: F found Destination %s already there, and Overwrite: F forbids replacing it (RFC 4918, 10.6)", f.m, q(f.o.Destination)),
			"nothing is broken: the client must pick a Destination that does not exist, or send Overwrite: T to replace it"
	}},
	{"move-no-overwrite-header", 412, func(f *facts) bool {
		return f.o.Method == "MOVE" && f.o.Overwrite == "" && !f.hasPrecondition
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("MOVE without an Overwrite header to Destination %s failed its precondition: RFC 4918, 10.6 says a missing Overwrite means T, but golang.org/x/net/webdav takes it as F and refuses an existing Destination", q(f.o.Destination)),
			"have the client send Overwrite: T when it means to replace the destination"
	}},
	{"if-match-malformed", 412, func(f *facts) bool { return f.o.IfMatch != "" && f.imErr != nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried If-Match %s, which is malformed (%v), so no entity tag could match it", f.m, q(f.o.IfMatch), f.imErr),
			`fix the client that builds it: each entity tag in double quotes, the weak prefix written W/, commas between tags`
	}},
	{"if-match-star", 412, func(f *facts) bool { return f.im.Any }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Match: * failed: the resource has no current representation (it does not exist yet, or was deleted or moved)", f.m),
			"the client meant to update: have it re-read the collection, or create the resource with If-None-Match: * instead"
	}},
	{"if-match-encoder-suffix", 412, func(f *facts) bool {
		_, _, ok := f.suffixedTag()
		return f.imErr == nil && ok && !(f.etagErr == nil && f.im.StrongMatch(f.etag))
	}, func(f *facts) (string, string) {
		t, s, _ := f.suffixedTag()
		what := fmt.Sprintf("%s with If-Match %s failed: that tag carries the %s suffix a compressing proxy appends (Caddy's encode and Apache's mod_deflate add it to strong ETags; Caddy strips it again only from If-None-Match)", f.m, q(t.String()), s)
		if f.etagErr == nil {
			what = fmt.Sprintf("%s with If-Match %s failed against the current ETag %s: the tag is the same plus the %s suffix a compressing proxy appends (Caddy's encode and Apache's mod_deflate add it to strong ETags; Caddy strips it again only from If-None-Match)", f.m, q(t.String()), q(f.o.ETag), s)
		}
		return what, "strip the suffix from If-Match before the application (Caddy: request_header If-Match `-(gzip|zstd|br)\"` `\"`), or have the application accept its tags with the suffix"
	}},
	{"if-match-weak", 412, func(f *facts) bool { return f.imErr == nil && f.allWeak() }, func(f *facts) (string, string) {
		what := fmt.Sprintf("%s with If-Match %s could not succeed: If-Match uses the strong comparison, under which a weak W/ tag never matches (RFC 9110, 8.8.3.2, 13.1.1)", f.m, q(f.o.IfMatch))
		if f.etagErr == nil && f.im.WeakMatch(f.etag) {
			what = fmt.Sprintf("%s with If-Match %s failed though it is the current ETag %s: If-Match uses the strong comparison, under which a weak W/ tag never matches (RFC 9110, 8.8.3.2, 13.1.1)", f.m, q(f.o.IfMatch), q(f.o.ETag))
		}
		return what, "find what weakened the ETag the client saw (nginx's gzip turns strong ETags into W/ ones) and serve strong ETags for resources clients update, or have the application compare weakly"
	}},
	{"etag-weak", 412, func(f *facts) bool {
		return f.imErr == nil && f.o.IfMatch != "" && f.etagErr == nil && f.etag.Weak
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Match %s met the current ETag %s, which is weak, and a strong comparison never matches a weak tag (RFC 9110, 8.8.3.2)", f.m, q(f.o.IfMatch), q(f.o.ETag)),
			"serve a strong ETag for resources clients update (nginx's gzip and some frameworks weaken them), or have the application compare weakly"
	}},
	{"if-match-holds", 412, func(f *facts) bool {
		return f.imErr == nil && f.o.IfMatch != "" && f.etagErr == nil && f.im.StrongMatch(f.etag)
	}, func(f *facts) (string, string) {
		if s := encoderSuffix(f.etag.Opaque); s == "-gzip" {
			return fmt.Sprintf("%s with If-Match %s equals the current ETag, -gzip suffix included, yet failed: Apache's mod_deflate adds -gzip to the ETag it sends but compares If-Match with the uncompressed tag", f.m, q(f.o.IfMatch)),
				"set DeflateAlterETag Remove (or NoChange) for this location, or leave the resource out of the DEFLATE filter"
		}
		other := "the application's own check (a version field in the body) or ETags that differ between backends"
		if f.o.If != "" {
			other = "the WebDAV If header " + q(f.o.If)
		}
		return fmt.Sprintf("%s with If-Match %s matches the current ETag %s, so If-Match did not fail (and If-Unmodified-Since is ignored beside it, RFC 9110, 13.1.4)", f.m, q(f.o.IfMatch), q(f.o.ETag)),
			"look for the other precondition: " + other
	}},
	{"if-match-stale", 412, func(f *facts) bool { return f.imErr == nil && f.o.IfMatch != "" && f.etagErr == nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Match %s met the current ETag %s: the resource changed since the client read it, and a lost update was prevented", f.m, q(f.o.IfMatch), q(f.o.ETag)),
			"nothing is broken: the client must GET the current version, merge and retry; if one client hits this every time, check that all backends compute the same ETag"
	}},
	{"if-match-no-etag", 412, func(f *facts) bool { return f.imErr == nil && f.o.IfMatch != "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Match %s failed and the response named no current ETag: the resource changed or is gone", f.m, q(f.o.IfMatch)),
			"have the upstream send the current ETag with its 412 to compare, and check that no proxy weakens (W/) or suffixes (-gzip) ETags on the way to the client"
	}},
	{"dav-if-malformed", 412, func(f *facts) bool { return f.o.If != "" && f.ifErr != nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried WebDAV If %s, which is malformed (%v), so no state could match it", f.m, q(f.o.If), f.ifErr),
			"fix the client: If: (<urn:uuid:…>) or </path> (<token> [\"etag\"]), as RFC 4918, 10.4 writes it"
	}},
	{"dav-if-tagged-other-host", 412, func(f *facts) bool {
		return f.o.If != "" && f.ifErr == nil && f.ifh.tagged && f.o.Host != "" && !f.ifh.tagsHost(f.o.Host)
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried WebDAV If %s, whose tagged lists name only resources on another host than %s: a server skips lists for resources it does not serve, so no state matched", f.m, q(f.o.If), q(f.o.Host)),
			"have the client tag with the URL it requests; behind a proxy that rewrites Host, keep the client's Host (reverse_proxy's default) or send untagged lists"
	}},
	{"dav-if-failed", 412, func(f *facts) bool { return f.o.If != "" }, func(f *facts) (string, string) {
		what := fmt.Sprintf("%s with WebDAV If %s failed: no list in it matched (RFC 4918, 10.4)", f.m, q(f.o.If))
		switch {
		case len(f.ifh.tokens) > 0 && len(f.ifh.etags) > 0:
			what += ": its lock token is not the resource's lock any more, or its entity tag is not the current one"
		case len(f.ifh.tokens) > 0:
			what += ": its lock token is not a lock on this resource any more (expired, released or taken by another client)"
		case len(f.ifh.etags) > 0:
			what += ": its entity tag is not the current one"
		}
		return what, "the client must rediscover the lock (PROPFIND lockdiscovery) or re-read the resource, then retry; a lock that timed out must be taken again"
	}},
	{"if-unmodified-since-malformed", 412, func(f *facts) bool { return f.o.IfUnmodifiedSince != "" && !f.iusOK }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried If-Unmodified-Since %s, which is not an HTTP date, and a server must ignore it (RFC 9110, 13.1.4): it is not what failed", f.m, q(f.o.IfUnmodifiedSince)),
			"fix the client's date (IMF-fixdate in GMT) and look for the application's own check"
	}},
	{"if-unmodified-since-changed", 412, func(f *facts) bool { return f.o.IfUnmodifiedSince != "" && f.lmOK && f.lm.After(f.ius) }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Unmodified-Since %s met Last-Modified %s, which is later: the resource changed after the client read it", f.m, q(f.o.IfUnmodifiedSince), q(f.o.LastModified)),
			"nothing is broken: the client must GET the current version, merge and retry; If-Match with an ETag is more exact than a date to the second"
	}},
	{"if-unmodified-since-holds", 412, func(f *facts) bool { return f.o.IfUnmodifiedSince != "" && f.lmOK }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Unmodified-Since %s met Last-Modified %s, which is not later, so the condition holds and did not cause the 412", f.m, q(f.o.IfUnmodifiedSince), q(f.o.LastModified)),
			"check the upstream's comparison: it must fail only when Last-Modified is later (not on any difference, not with sub-second times)"
	}},
	{"if-unmodified-since-no-last-modified", 412, func(f *facts) bool { return f.o.IfUnmodifiedSince != "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-Unmodified-Since %s failed and the response named no Last-Modified: the resource changed after that time, or is gone", f.m, q(f.o.IfUnmodifiedSince)),
			"the client must GET the current version and retry; have the upstream send Last-Modified with its 412 to compare"
	}},
	{"if-none-match-malformed", 412, func(f *facts) bool { return f.o.IfNoneMatch != "" && f.inmErr != nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried If-None-Match %s, which is malformed (%v)", f.m, q(f.o.IfNoneMatch), f.inmErr),
			`fix the client that builds it: "*" alone, or entity tags in double quotes separated by commas`
	}},
	{"if-none-match-star-exists", 412, func(f *facts) bool { return f.inm.Any }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s with If-None-Match: * found the resource already there: that precondition only lets a request create (RFC 9110, 13.1.2)", f.m),
			"nothing is broken: the client must choose a new name, or GET the resource and update it with If-Match"
	}},
	{"if-none-match-listed", 412, func(f *facts) bool { return f.o.IfNoneMatch != "" }, func(f *facts) (string, string) {
		if f.etagErr == nil && f.inm.WeakMatch(f.etag) {
			return fmt.Sprintf("%s with If-None-Match %s met the current ETag %s, which it lists (weak comparison): the version the client wanted to avoid is there", f.m, q(f.o.IfNoneMatch), q(f.o.ETag)),
				"nothing is broken: the client must re-read the resource before it writes"
		}
		return fmt.Sprintf("%s with If-None-Match %s failed: one of the listed versions is the current one", f.m, q(f.o.IfNoneMatch)),
			"the client must re-read the resource before it writes; have the upstream send the current ETag with its 412 to compare"
	}},
	{"412-without-precondition", 412, yes, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 412 though it carried none of If-Match, If-None-Match, If-Unmodified-Since or If: the application uses 412 for a check of its own (CouchDB answers 412 file_exists to a PUT of a database that exists)", f.m),
			"read the body excerpt for the check; if it means 'already exists', the client must not create it again"
	}},

	// ---- 409
	{"mkcol-missing-parent", 409, func(f *facts) bool { return f.o.Method == "MKCOL" }, func(f *facts) (string, string) {
		return "MKCOL answered 409: the parent collection of the new collection does not exist (RFC 4918, 9.3.1)",
			"create the parent collections first, one MKCOL each, from the top"
	}},
	{"unlock-no-such-lock", 409, func(f *facts) bool { return f.o.Method == "UNLOCK" }, func(f *facts) (string, string) {
		return fmt.Sprintf("UNLOCK with Lock-Token %s answered 409: that token is not a lock on this resource (RFC 4918, 9.11.1)", q(f.o.LockToken)),
			"UNLOCK the lock's root URL with the token LOCK returned; a lock that timed out is gone already"
	}},
	{"conflict-if-match-malformed", 409, func(f *facts) bool { return f.o.IfMatch != "" && f.imErr != nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409 with If-Match %s, which is malformed (%v)", f.m, q(f.o.IfMatch), f.imErr),
			"fix the client that builds it: each entity tag in double quotes, commas between tags"
	}},
	{"conflict-if-match-stale", 409, func(f *facts) bool {
		return f.o.IfMatch != "" && f.imErr == nil && !f.im.Any && f.etagErr == nil && !f.im.StrongMatch(f.etag)
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409 with If-Match %s against current ETag %s: the client edited an older version", f.m, q(f.o.IfMatch), q(f.o.ETag)),
			"the client must re-read the resource, merge and retry (the RFC's status for this is 412; the application chose 409)"
	}},
	{"conflict-if-match-current", 409, func(f *facts) bool { return f.o.IfMatch != "" && f.imErr == nil && f.etagErr == nil }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409 though If-Match %s matches the current ETag %s: the version was current, so the conflict is in the content (a duplicate name, a rule of the application)", f.m, q(f.o.IfMatch), q(f.o.ETag)),
			"read the body excerpt for the rule; the same request will fail the same way when retried"
	}},
	{"conflict-stale-revision", 409, func(f *facts) bool { return f.o.IfMatch != "" && !f.im.Any }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409 with If-Match %s and no current ETag: the version it names is not the current one (CouchDB answers 409 conflict to a stale rev in If-Match or _rev)", f.m, q(f.o.IfMatch)),
			"the client must GET the current version (its ETag or _rev), merge and retry"
	}},
	{"conflict-json-version", 409, func(f *facts) bool { return isJSON(f.o.ContentType) }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409 with a JSON body: an application conflict, most often a stale optimistic-lock version in the body (Kubernetes 'the object has been modified' for resourceVersion, CouchDB _rev, Rails lock_version)", f.m),
			"the client must re-read the object, re-apply its change to the latest version and retry; the body excerpt names the object"
	}},
	{"dav-missing-parent", 409, func(f *facts) bool {
		return (f.o.Method == "PUT" || f.copyMove) && f.o.IfMatch == "" && f.o.If == ""
	}, func(f *facts) (string, string) {
		target := "the target's"
		if f.copyMove {
			target = "the Destination's"
		}
		return fmt.Sprintf("%s answered 409 and carried no If-Match: on a WebDAV server (Apache mod_dav, x/net/webdav) this means %s parent collection does not exist (RFC 4918, 9.7.1, 9.8.5)", f.m, target),
			"create the parent with MKCOL first; for an application, the body excerpt names the conflict"
	}},
	{"conflict", 409, yes, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 409: the request conflicts with the resource's current state (an edit conflict, a duplicate name or a missing parent)", f.m),
			"read the body excerpt and the application log for which; the client must re-read the resource and retry"
	}},

	// ---- 423
	{"lock-conflict", 423, func(f *facts) bool { return f.o.Method == "LOCK" }, func(f *facts) (string, string) {
		depth := ""
		if f.o.Depth == "" || strings.EqualFold(f.o.Depth, "infinity") {
			depth = " (with Depth: infinity, the default, a lock on any member conflicts too)"
		}
		return "LOCK answered 423: the resource already holds a conflicting lock" + depth + ", not a missing token",
			"wait for that lock to time out, or find its owner with PROPFIND lockdiscovery and have it UNLOCK; retrying LOCK will not get through"
	}},
	{"lock-token-on-write", 423, func(f *facts) bool {
		return f.o.Method != "UNLOCK" && f.o.LockToken != "" && f.o.If == ""
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s sent its lock token in Lock-Token %s, a header only UNLOCK reads, so the server saw no token: a client bug", f.m, q(f.o.LockToken)),
			"fix the client to send the token in the If header: If: (" + q(f.o.LockToken) + ")"
	}},
	{"locked-no-token", 423, func(f *facts) bool { return f.o.If == "" && f.o.LockToken == "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s hit a locked resource without a lock token", f.m),
			"the lock's holder must send its token in the If header, or the lock must be released (UNLOCK) or time out"
	}},
	{"locked-foreign-token", 423, yes, func(f *facts) (string, string) {
		return fmt.Sprintf("%s hit a locked resource; the token it sent (If %q, Lock-Token %q) is not the lock's owner token: a stale lock, or another client holds it", f.m, q(f.o.If), q(f.o.LockToken)),
			"the client must rediscover the lock (PROPFIND lockdiscovery); if it is another client's, wait for UNLOCK or the timeout"
	}},

	// ---- 424, 428
	{"failed-dependency", 424, yes, func(f *facts) (string, string) {
		return fmt.Sprintf("%s answered 424 as its own status, not inside a 207 Multi-Status: it failed because another action it depended on failed first (RFC 4918, 11.4)", f.m),
			"find the action that failed first in the body excerpt or the application log; for PROPPATCH, fix the property that failed and resend all of them"
	}},
	{"precondition-required-create-only", 428, func(f *facts) bool {
		return f.o.IfNoneMatch != "" && f.inmErr == nil && f.inm.Any && f.o.IfMatch == ""
	}, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried If-None-Match: *, a create-only precondition, and the application still requires one: it wants If-Match with the current ETag (the resource likely exists)", f.m),
			"have the client GET the resource and send its ETag in If-Match"
	}},
	{"precondition-required", 428, func(f *facts) bool { return !f.hasPrecondition }, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried no precondition and the application requires one (RFC 6585, 3)", f.m),
			"the client must GET, keep the ETag and send it in If-Match"
	}},
	{"precondition-insufficient", 428, yes, func(f *facts) (string, string) {
		return fmt.Sprintf("%s carried a precondition the application did not accept as sufficient", f.m),
			"check which header it requires (usually If-Match with an ETag, not a date)"
	}},

	// ---- 5xx
	{"proxy-error", 502, func(f *facts) bool { return f.o.Source == "handler" }, func(f *facts) (string, string) {
		return "the proxy could not get a response from the upstream: " + shortErr(f.o.Err),
			"check that the upstream runs and listens at the address in the error"
	}},
	{"upstream-502", 502, yes, func(f *facts) (string, string) {
		return "an upstream or gateway behind the site answered 502 itself",
			"look one hop further: that gateway's own log names the server it could not reach"
	}},
	{"proxy-timeout", 504, func(f *facts) bool { return f.o.Source == "handler" }, func(f *facts) (string, string) {
		return "the upstream did not answer in time: " + shortErr(f.o.Err),
			"find why the upstream is slow, or raise reverse_proxy's timeouts if the work is legitimately long"
	}},
	{"upstream-504", 504, yes, func(f *facts) (string, string) {
		return "a gateway behind the site timed out waiting on its own upstream",
			"look one hop further: the slow server is behind that gateway"
	}},
	{"unavailable-handler", 503, func(f *facts) bool { return f.o.Source == "handler" }, func(f *facts) (string, string) {
		return "the service is unavailable: " + shortErr(f.o.Err),
			"check the upstreams' health (reverse_proxy's health checks mark them down) and send Retry-After while in maintenance"
	}},
	{"unavailable", 503, yes, func(f *facts) (string, string) {
		return "the service is unavailable (maintenance, overload or no healthy upstream)",
			"check the upstream's health and load; Retry-After tells clients when to return"
	}},
	{"handler-error", 0, func(f *facts) bool { return f.o.Source == "handler" && f.o.Err != "" }, func(f *facts) (string, string) {
		return fmt.Sprintf("a handler returned %d: %s", f.o.Status, shortErr(f.o.Err)),
			"the error names what failed; the access log has the request"
	}},
	{"status", 0, yes, func(f *facts) (string, string) {
		s, _ := Lookup(f.o.Status)
		return fmt.Sprintf("%s answered %d %s", f.m, f.o.Status, s.Reason),
			fmt.Sprintf("see caddy explain %d for its causes and fixes", f.o.Status)
	}},
}

func conflictish(status int) bool { return status == 409 || status == 412 || status == 428 }

// destStatus: the statuses servers answer a Destination they refuse with.
func destStatus(status int) bool {
	return status == 502 || status == 412 || status == 403 || status == 400
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// depthAllowed is RFC 4918, 10.2 per method.
func depthAllowed(method, depth string) bool {
	d := strings.ToLower(strings.TrimSpace(depth))
	switch method {
	case "PROPFIND":
		return d == "0" || d == "1" || d == "infinity"
	case "COPY", "LOCK":
		return d == "0" || d == "infinity"
	case "MOVE":
		return d == "infinity"
	}
	return true
}

func depthRule(method string) string {
	switch method {
	case "PROPFIND":
		return "0, 1 or infinity for PROPFIND"
	case "COPY":
		return "only 0 or infinity for COPY"
	case "LOCK":
		return "only 0 or infinity for LOCK"
	case "MOVE":
		return "only infinity for MOVE"
	}
	return "0, 1 or infinity"
}

func shortErr(s string) string {
	if s == "" {
		return "no error message"
	}
	if len(s) > 200 {
		// cut at 200 bytes, dropping a character cut in half
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return oneLine(s)
}

// oneLine makes s safe for a one-line hint: control characters become
// spaces, invalid UTF-8 the replacement character.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
