package explain

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Dates as servers send them (IMF-fixdate, RFC 9110, 5.6.7).
const (
	jan1 = "Mon, 01 Jan 2024 00:00:00 GMT"
	jan2 = "Tue, 02 Jan 2024 00:00:00 GMT"
)

// hintCase is one row of the hint table test: an observation as a real
// server and client produce it, the row of the table it must reach, and
// words the hint must quote.
type hintCase struct {
	name string
	o    Observation
	id   string
	want []string
}

// hintCases: where each comes from is in its comment. "x/net/webdav" rows
// are also produced live by TestHintFromRealWebDAV; Caddy's encode rows
// follow modules/caddyhttp/encode/encode.go (v2.11.9): a strong ETag gets
// "-"+encoding appended inside the quotes, and only If-None-Match has the
// suffix stripped on the way in.
var hintCases = []hintCase{
	// ---- RFC 9110 preconditions, 412
	// Apache mod_dav / any RFC 9110 server: PUT If-Match of an older version
	{"StaleIfMatchLostUpdatePrevented", Observation{Method: "PUT", Status: 412, IfMatch: `"v1"`, ETag: `"v2"`}, "if-match-stale", []string{`If-Match "v1" met the current ETag "v2"`, "lost update"}},
	// If-Match sent on two lines by a client library; the second holds the current tag
	{"RepeatedIfMatchLinesJoined", Observation{Method: "PUT", Status: 412, IfMatch: `"v0", "v2"`, ETag: `"v2"`}, "if-match-holds", []string{"did not fail"}},
	// nginx gzip on (gzip_types incl. the type): ETag "abc" leaves as W/"abc"; the client echoes it
	{"NginxGzipWeakenedIfMatchNeverMatches", Observation{Method: "PUT", Status: 412, IfMatch: `W/"5f3a-1b"`, ETag: `W/"5f3a-1b"`}, "if-match-weak", []string{"strong comparison", "nginx's gzip"}},
	// a framework (Spring ShallowEtagHeaderFilter with weak tags) sends W/ and compares If-Match strongly
	{"WeakIfMatchAgainstStrongETag", Observation{Method: "PATCH", Status: 412, IfMatch: `W/"0a1b"`, ETag: `"0a1b"`}, "if-match-weak", []string{"8.8.3.2"}},
	// Rails' stale? with weak ETags (Rails 5+ emits W/ by default) answering If-Match strongly
	{"CurrentETagWeak", Observation{Method: "PUT", Status: 412, IfMatch: `"a1"`, ETag: `W/"a1"`}, "etag-weak", []string{`current ETag W/"a1"`, "weak"}},
	// Caddy encode gzip in front: client read ETag "v7-gzip", PUT If-Match "v7-gzip", upstream's ETag "v7"
	{"CaddyEncodeGzipSuffixInIfMatch", Observation{Method: "PUT", Status: 412, IfMatch: `"v7-gzip"`, ETag: `"v7"`}, "if-match-encoder-suffix", []string{"-gzip", "Caddy's encode", "request_header If-Match"}},
	// Caddy encode zstd (Caddy prefers zstd when the client offers it)
	{"CaddyEncodeZstdSuffixInIfMatch", Observation{Method: "PUT", Status: 412, IfMatch: `"65a1b2c3-zstd"`, ETag: `"65a1b2c3"`}, "if-match-encoder-suffix", []string{"-zstd"}},
	// the same with an upstream that sends no ETag on its 412 (x/net/webdav, most apps)
	{"EncoderSuffixWithoutCurrentETag", Observation{Method: "PUT", Status: 412, IfMatch: `"1700000000-gzip"`}, "if-match-encoder-suffix", []string{"-gzip suffix"}},
	// Apache 2.4 mod_deflate (DeflateAlterETag AddSuffix, the default): ETag and If-Match both "…-gzip", Apache compares without it
	{"ApacheModDeflateSuffixOnBothSides", Observation{Method: "PUT", Status: 412, IfMatch: `"2a-5f0c1e4d3b2a0-gzip"`, ETag: `"2a-5f0c1e4d3b2a0-gzip"`}, "if-match-holds", []string{"mod_deflate", "DeflateAlterETag"}},
	// equal strong tags: Apache mod_dav evaluating a WebDAV If list after If-Match passed
	{"EqualTagsCauseIsIfHeader", Observation{Method: "PUT", Status: 412, IfMatch: `"2a-5f0c"`, ETag: `"2a-5f0c"`, If: `(<opaquelocktoken:dead-beef>)`}, "if-match-holds", []string{"WebDAV If"}},
	// Spring @Version with If-Match: equal tags, the body's version differs
	{"EqualTagsCauseIsElsewhere", Observation{Method: "PUT", Status: 412, IfMatch: `"3"`, ETag: `"3"`, IfUnmodifiedSince: jan1, LastModified: jan2}, "if-match-holds", []string{"13.1.4"}},
	// Apache mod_dav / x/net/webdav style: If-Match: * on a deleted resource
	{"IfMatchStarResourceMissing", Observation{Method: "PUT", Status: 412, IfMatch: "*"}, "if-match-star", []string{"no current representation"}},
	// a hand-written client: unquoted tag
	{"IfMatchUnquotedIsMalformed", Observation{Method: "PUT", Status: 412, IfMatch: `v1`, ETag: `"v1"`}, "if-match-malformed", []string{"malformed", "double quotes"}},
	// lower-case weak prefix
	{"IfMatchLowercaseWeakIsMalformed", Observation{Method: "DELETE", Status: 412, IfMatch: `w/"v1"`}, "if-match-malformed", []string{`"W/"`}},
	// Spring's ETag filter answering 412 with no ETag header on the error
	{"IfMatchNoCurrentETag", Observation{Method: "PUT", Status: 412, IfMatch: `"0d3b"`}, "if-match-no-etag", []string{"named no current ETag"}},
	// RFC 9110 13.1.4 with Last-Modified later: changed since read (Apache mod_dav PUT)
	{"IfUnmodifiedSinceChanged", Observation{Method: "PUT", Status: 412, IfUnmodifiedSince: jan1, LastModified: jan2}, "if-unmodified-since-changed", []string{"later", jan2}},
	// If-Unmodified-Since equal to Last-Modified: the condition holds, a server that compares for equality is wrong
	{"IfUnmodifiedSinceHolds", Observation{Method: "PUT", Status: 412, IfUnmodifiedSince: jan2, LastModified: jan2}, "if-unmodified-since-holds", []string{"not later"}},
	{"IfUnmodifiedSinceNoLastModified", Observation{Method: "PUT", Status: 412, IfUnmodifiedSince: jan1}, "if-unmodified-since-no-last-modified", []string{"no Last-Modified"}},
	// a client sending a Unix timestamp
	{"IfUnmodifiedSinceNotADate", Observation{Method: "PUT", Status: 412, IfUnmodifiedSince: "1704067200", LastModified: jan2}, "if-unmodified-since-malformed", []string{"not an HTTP date"}},
	// nginx dav / Apache: PUT If-None-Match: * on an existing file
	{"IfNoneMatchStarOnExisting", Observation{Method: "PUT", Status: 412, IfNoneMatch: "*", ETag: `"65a1-4"`}, "if-none-match-star-exists", []string{"only lets a request create"}},
	// a client joining tags with semicolons
	{"IfNoneMatchMalformed", Observation{Method: "PUT", Status: 412, IfNoneMatch: `"a";"b"`}, "if-none-match-malformed", []string{"malformed"}},
	{"IfNoneMatchListsCurrent", Observation{Method: "PUT", Status: 412, IfNoneMatch: `"a", W/"b"`, ETag: `"b"`}, "if-none-match-listed", []string{"weak comparison"}},
	// a framework answering conditional GET with 412 instead of 304 (a known bug class)
	{"GetIfNoneMatchMatching412IsServerBug", Observation{Method: "GET", Status: 412, IfNoneMatch: `"v3"`, ETag: `"v3"`}, "get-if-none-match-412", []string{"must be 304", "13.1.2"}},
	{"HeadIfNoneMatch412IsServerBug", Observation{Method: "HEAD", Status: 412, IfNoneMatch: `W/"x"`}, "get-if-none-match-412", []string{"can never cause"}},
	// GET with a failing If-Match is a correct 412 (If-Match goes first, 13.2.2)
	{"GetIfMatchFailingIsCorrect412", Observation{Method: "GET", Status: 412, IfMatch: `"v1"`, IfNoneMatch: `"v1"`, ETag: `"v2"`}, "if-match-stale", nil},
	// CouchDB: PUT /db on an existing database answers 412 {"error":"file_exists"}
	{"CouchDBPutExistingDatabase", Observation{Method: "PUT", Status: 412, ContentType: "application/json"}, "412-without-precondition", []string{"CouchDB", "file_exists"}},
	// a client looping over a huge If-Match (cut by ObserveRequest)
	{"HugeIfMatchNotCompared", withStatus(ObserveRequest("PUT", http.Header{"If-Match": {strings.Repeat(`"x",`, 400)}}, "dav.example", true), 412), "precondition-too-long", []string{"longer than 512 bytes"}},

	// ---- RFC 4918, 412
	// x/net/webdav: PUT with If: (<token>) naming no lock -> 412 (confirmLocks)
	{"DavIfTokenNotALock", Observation{Method: "PUT", Status: 412, If: `(<urn:uuid:0b1e7a0c-0000-4000-8000-000000000001>)`}, "dav-if-failed", []string{"lock token"}},
	// litmus cond_put_corrupt_token style: token plus entity tag
	{"DavIfTokenAndETag", Observation{Method: "PUT", Status: 412, If: `(<opaquelocktoken:bad> ["v1"])`}, "dav-if-failed", []string{"entity tag"}},
	// tagged list naming the backend's host after a Host rewrite (header_up Host backend:8080)
	{"DavIfTaggedOtherHost", Observation{Method: "PUT", Status: 412, If: `<http://backend:8080/doc.txt> (<urn:uuid:1>)`, Host: "dav.example"}, "dav-if-tagged-other-host", []string{"another host"}},
	{"DavIfMalformed", Observation{Method: "PUT", Status: 412, If: `(<urn:uuid:1>`}, "dav-if-malformed", []string{"without ')'"}},
	// x/net/webdav and Apache mod_dav: COPY Overwrite: F onto an existing resource
	{"CopyOverwriteFDestinationExists", Observation{Method: "COPY", Status: 412, Overwrite: "F", Destination: "https://dav.example/b.txt", Host: "dav.example", Scheme: "https"}, "overwrite-f", []string{"10.6", "Overwrite: T"}},
	// a client writing the default port: the same origin, so Overwrite is the cause
	{"DestinationDefaultPortIsSameOrigin", Observation{Method: "MOVE", Status: 412, Overwrite: "F", Destination: "https://dav.example:443/b.txt", Host: "dav.example", Scheme: "https"}, "overwrite-f", nil},
	// x/net/webdav: MOVE without Overwrite is taken as F (moveFiles(..., Overwrite == "T"))
	{"MoveWithoutOverwriteXNetWebDAV", Observation{Method: "MOVE", Status: 412, Destination: "/b.txt", Host: "dav.example", Scheme: "http"}, "move-no-overwrite-header", []string{"x/net/webdav"}},

	// ---- Destination after proxy rewriting, Depth
	// TLS ends at a proxy in front of Caddy: Caddy sees http, the client wrote https
	{"DestinationSchemeBehindTLSProxy", Observation{Method: "MOVE", Status: 502, Destination: "https://dav.example/new.txt", Host: "dav.example", Scheme: "http", Source: "upstream"}, "destination-other-origin", []string{"https://dav.example", "http://dav.example"}},
	// x/net/webdav: Destination host differs from r.Host -> 502
	{"DestinationOtherHost", Observation{Method: "COPY", Status: 502, Destination: "http://other.example/b", Host: "dav.example", Scheme: "http", Source: "upstream"}, "destination-other-origin", []string{"other.example"}},
	// Caddy terminates TLS, Apache mod_dav behind over http: 502 "Destination URI refers to different scheme or port"
	{"DestinationRefusedByUpstreamBehindCaddy", Observation{Method: "MOVE", Status: 502, Destination: "https://dav.example/new.txt", Host: "dav.example", Scheme: "https", Source: "upstream"}, "destination-upstream-refused", []string{"upstream sees its own scheme"}},
	// x/net/webdav: COPY /a to /a -> 403
	{"DestinationSameAsSource", Observation{Method: "COPY", Status: 403, Destination: "/a.txt", Host: "dav.example", Scheme: "http"}, "destination-same-as-source", []string{"9.8.5"}},
	// x/net/webdav: COPY without Destination -> 400
	{"DestinationMissing", Observation{Method: "COPY", Status: 400}, "destination-missing", nil},
	// x/net/webdav: MOVE Depth: 0 -> 400
	{"MoveDepthZero", Observation{Method: "MOVE", Status: 400, Depth: "0", Destination: "/b"}, "depth-not-allowed", []string{"only infinity for MOVE"}},
	// Apache mod_dav with DavDepthInfinity off (the default): PROPFIND without Depth -> 403
	{"ApachePropfindDepthInfinity", Observation{Method: "PROPFIND", Status: 403}, "propfind-depth-infinity", []string{"DavDepthInfinity"}},

	// ---- 409
	// Apache mod_dav, nginx dav, x/net/webdav: MKCOL /a/b/ with /a missing
	{"MkcolMissingParent", Observation{Method: "MKCOL", Status: 409}, "mkcol-missing-parent", []string{"9.3.1"}},
	// Apache mod_dav, x/net/webdav: PUT /a/b.txt with /a missing (nginx answers 500, see testdata/hints)
	{"PutMissingParent", Observation{Method: "PUT", Status: 409, ContentType: "text/html"}, "dav-missing-parent", []string{"MKCOL first"}},
	{"MoveMissingDestinationParent", Observation{Method: "MOVE", Status: 409, Destination: "/no/such/dir/b.txt", Host: "dav.example"}, "dav-missing-parent", []string{"Destination's parent"}},
	// CouchDB: PUT /db/doc with a stale rev in If-Match -> 409 {"error":"conflict","reason":"Document update conflict."}
	{"CouchDBStaleRevInIfMatch", Observation{Method: "PUT", Status: 409, IfMatch: `"1-967a00dff5e02add41819138abb3284d"`, ContentType: "application/json"}, "conflict-stale-revision", []string{"CouchDB", "_rev"}},
	// PouchDB/CouchDB: DELETE with a stale rev
	{"CouchDBDeleteStaleRev", Observation{Method: "DELETE", Status: 409, IfMatch: `"2-7051cbe5c8faecd085a3fa619e6e6337"`, ETag: `"3-825cb35de44c433bfb2df415563a19de"`, ContentType: "application/json"}, "conflict-if-match-stale", []string{"older version"}},
	// Kubernetes API: PUT with a stale metadata.resourceVersion -> 409 Status "the object has been modified"
	{"KubernetesResourceVersionConflict", Observation{Method: "PUT", Status: 409, ContentType: "application/json"}, "conflict-json-version", []string{"Kubernetes", "resourceVersion"}},
	// Rails: ActiveRecord::StaleObjectError rescued as 409 in a JSON API
	{"RailsStaleObjectError", Observation{Method: "PATCH", Status: 409, ContentType: "application/json; charset=utf-8"}, "conflict-json-version", []string{"lock_version"}},
	// GitHub-style duplicate with a matching If-Match: the version was current
	{"ConflictWithCurrentIfMatch", Observation{Method: "PUT", Status: 409, IfMatch: `"v2"`, ETag: `"v2"`}, "conflict-if-match-current", []string{"in the content"}},
	// CouchDB client sending the bare rev without quotes
	{"ConflictIfMatchMalformed", Observation{Method: "PUT", Status: 409, IfMatch: `1-967a00dff5e02add41819138abb3284d`}, "conflict-if-match-malformed", []string{"malformed"}},
	// x/net/webdav: UNLOCK with a token that is not a lock -> 409
	{"UnlockUnknownToken", Observation{Method: "UNLOCK", Status: 409, LockToken: "<urn:uuid:nope>"}, "unlock-no-such-lock", []string{"9.11.1"}},
	// a form post answered 409 by an app with a text body
	{"PostConflictGeneric", Observation{Method: "POST", Status: 409, ContentType: "text/plain"}, "conflict", []string{"edit conflict"}},

	// ---- 423
	// x/net/webdav, Apache mod_dav: LOCK on a resource another client locked
	{"LockOnLockedResource", Observation{Method: "LOCK", Status: 423}, "lock-conflict", []string{"conflicting lock", "Depth: infinity"}},
	{"LockDepthZeroOnLocked", Observation{Method: "LOCK", Status: 423, Depth: "0"}, "lock-conflict", nil},
	// a client putting the token in Lock-Token on PUT (seen with naive WebDAV clients)
	{"LockTokenHeaderOnPut", Observation{Method: "PUT", Status: 423, LockToken: "<urn:uuid:7e57>"}, "lock-token-on-write", []string{"only UNLOCK reads", "If: (<urn:uuid:7e57>)"}},
	// x/net/webdav, Apache: PUT to a locked file without If
	{"PutLockedWithoutToken", Observation{Method: "PUT", Status: 423}, "locked-no-token", []string{"without a lock token"}},
	{"PutLockedForeignToken", Observation{Method: "DELETE", Status: 423, If: "(<urn:uuid:1>)"}, "locked-foreign-token", []string{"urn:uuid:1"}},

	// ---- 424, 428
	// an application answering 424 itself (not inside a 207)
	{"TopLevel424", Observation{Method: "PROPPATCH", Status: 424}, "failed-dependency", []string{"not inside a 207"}},
	// GitHub-like / Azure Storage style: 428 on PUT without precondition
	{"PreconditionRequiredNone", Observation{Method: "PUT", Status: 428}, "precondition-required", []string{"If-Match"}},
	// a create-only PUT to an app that demands If-Match for updates
	{"PreconditionRequiredIfNoneMatchStar", Observation{Method: "PUT", Status: 428, IfNoneMatch: "*"}, "precondition-required-create-only", []string{"If-None-Match: *", "If-Match"}},
	{"PreconditionRequiredDateNotEnough", Observation{Method: "PUT", Status: 428, IfUnmodifiedSince: jan1}, "precondition-insufficient", nil},

	// ---- handler errors and gateways (Caddy's reverse_proxy)
	{"ProxyDialRefused", Observation{Method: "GET", Status: 502, Source: "handler", Err: "dial tcp 127.0.0.1:9: connect: connection refused"}, "proxy-error", []string{"connection refused"}},
	{"ProxyErrorWithoutMessage", Observation{Method: "GET", Status: 502, Source: "handler"}, "proxy-error", []string{"no error message"}},
	{"Upstream502", Observation{Method: "GET", Status: 502, Source: "upstream"}, "upstream-502", []string{"one hop further"}},
	{"ProxyTimeout", Observation{Method: "GET", Status: 504, Source: "handler", Err: "context deadline exceeded"}, "proxy-timeout", []string{"deadline"}},
	{"Upstream504", Observation{Method: "GET", Status: 504, Source: "upstream"}, "upstream-504", nil},
	// reverse_proxy with every upstream down: 503 "no upstreams available"
	{"NoUpstreams503KeepsError", Observation{Method: "GET", Status: 503, Source: "handler", Err: "no upstreams available"}, "unavailable-handler", []string{"no upstreams available"}},
	{"Upstream503", Observation{Method: "GET", Status: 503, Source: "upstream"}, "unavailable", []string{"Retry-After"}},
	{"HandlerError500", Observation{Method: "GET", Status: 500, Source: "handler", Err: "boom"}, "handler-error", []string{"a handler returned 500: boom"}},
	{"HandlerErrorCut", Observation{Method: "GET", Status: 500, Source: "handler", Err: strings.Repeat("x", 300)}, "handler-error", []string{strings.Repeat("x", 200) + "…"}},
	{"Upstream404", Observation{Method: "GET", Status: 404, Source: "upstream"}, "status", []string{"GET answered 404 Not Found"}},
	{"Unregistered599", Observation{Method: "GET", Status: 599, Source: "upstream"}, "status", []string{"599 Server Error"}},
}

func withStatus(o Observation, status int) Observation {
	o.Status = status
	return o
}

// TestHintTable: every case reaches its row of the table, quotes what it
// must, and gives one line that says what to do.
func TestHintTable(t *testing.T) {
	if len(hintCases) < 40 {
		t.Fatalf("%d cases, want at least 40", len(hintCases))
	}
	rules := HintRules()
	seen := map[string]bool{}
	for _, tc := range hintCases {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Contains(rules, tc.id) {
				t.Fatalf("case wants row %q, which the table does not have", tc.id)
			}
			d := Diagnose(tc.o)
			seen[d.ID] = true
			if d.ID != tc.id {
				t.Errorf("Diagnose(%+v) = row %q (%s), want row %q", tc.o, d.ID, d.Hint(), tc.id)
			}
			h := Hint(tc.o)
			if h != d.Hint() {
				t.Errorf("Hint = %q, Diagnose.Hint = %q", h, d.Hint())
			}
			for _, w := range tc.want {
				if !strings.Contains(h, w) {
					t.Errorf("hint %q does not contain %q", h, w)
				}
			}
			if d.What == "" || d.Do == "" {
				t.Errorf("row %q: what %q, do %q; both must be said", d.ID, d.What, d.Do)
			}
			if strings.ContainsAny(h, "\r\n") {
				t.Errorf("hint is not one line: %q", h)
			}
			if len(h) > 700 {
				t.Errorf("hint is %d bytes: %q", len(h), h)
			}
		})
	}
	// the catch-all rows aside, every row is reached by some case
	for _, id := range rules {
		if !seen[id] {
			t.Errorf("no case reaches row %q", id)
		}
	}
}

// TestHintNeverEmpty: every status from every source gives a hint.
func TestHintNeverEmpty(t *testing.T) {
	for code := 400; code <= 599; code++ {
		for _, src := range []string{"upstream", "handler"} {
			for _, m := range []string{"GET", "PUT", "COPY", "LOCK", ""} {
				d := Diagnose(Observation{Method: m, Status: code, Source: src})
				if d.What == "" || d.Do == "" {
					t.Errorf("Diagnose for %s %d from %s: %+v", m, code, src, d)
				}
			}
		}
	}
}

// TestHintQuotesBounded: whatever a hostile client sends, the hint stays
// one bounded line.
func TestHintQuotesBounded(t *testing.T) {
	big := strings.Repeat("\x01<a>\"", 100000)
	h := http.Header{}
	for _, k := range []string{"If-Match", "If-None-Match", "If", "Lock-Token", "Destination", "Depth", "Overwrite", "If-Unmodified-Since"} {
		h[k] = []string{big, big}
	}
	for _, status := range []int{409, 412, 423, 424, 428, 502, 400, 403} {
		for _, m := range []string{"PUT", "COPY", "MOVE", "LOCK", "GET", strings.Repeat("M", 1000)} {
			o := ObserveRequest(m, h, strings.Repeat("h", 5000), true)
			o.Status = status
			o.ETag, o.LastModified = big, big
			hint := Hint(o)
			if len(hint) > 1500 || strings.ContainsAny(hint, "\r\n\x01") {
				t.Fatalf("%s %d: hint of %d bytes: %.200q", m, status, len(hint), hint)
			}
		}
	}
}

func TestObserveRequest(t *testing.T) {
	h := http.Header{}
	h.Add("If-Match", `"a"`)
	h.Add("If-Match", `"b", "c"`)
	h.Add("If-None-Match", `"d"`)
	h.Set("Overwrite", "F")
	h.Set("Depth", "infinity")
	h.Set("Destination", "https://dav.example/x")
	h.Set("Lock-Token", "<urn:uuid:1>")
	h.Set("If", "(<urn:uuid:1>)")
	h.Set("If-Unmodified-Since", jan1)
	o := ObserveRequest("COPY", h, "dav.example", true)
	want := Observation{
		Method: "COPY", IfMatch: `"a", "b", "c"`, IfNoneMatch: `"d"`, IfUnmodifiedSince: jan1,
		If: "(<urn:uuid:1>)", LockToken: "<urn:uuid:1>", Overwrite: "F", Depth: "infinity",
		Destination: "https://dav.example/x", Host: "dav.example", Scheme: "https",
	}
	if o != want {
		t.Errorf("ObserveRequest =\n%+v, want\n%+v", o, want)
	}
	if o := ObserveRequest("GET", http.Header{}, "h", false); o.Scheme != "http" || o.IfMatch != "" {
		t.Errorf("plain request: %+v", o)
	}

	// bounded: 10,000 lines of If-Match are cut at the bound
	many := http.Header{}
	for range 10000 {
		many.Add("If-Match", `"0123456789abcdef"`)
	}
	many.Set("Destination", strings.Repeat("é", 1000))
	o = ObserveRequest("PUT", many, "h", false)
	if len(o.IfMatch) > MaxObservedBytes+len(CutMark) || !strings.HasSuffix(o.IfMatch, CutMark) {
		t.Errorf("If-Match of 10,000 lines kept as %d bytes, ending %q", len(o.IfMatch), o.IfMatch[max(0, len(o.IfMatch)-8):])
	}
	if !strings.HasSuffix(o.Destination, "é"+CutMark) || len(o.Destination) > MaxObservedBytes+len(CutMark) {
		t.Errorf("Destination not cut at a character boundary: %d bytes, ending %q", len(o.Destination), o.Destination[len(o.Destination)-6:])
	}
}

func TestParseETagList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []EntityTag
		any  bool
		err  string
	}{
		{`"v1"`, []EntityTag{{false, "v1"}}, false, ""},
		{`W/"v1"`, []EntityTag{{true, "v1"}}, false, ""},
		{`*`, nil, true, ""},
		{` "a" ,W/"b",, "" `, []EntityTag{{false, "a"}, {true, "b"}, {false, ""}}, false, ""},
		{`"a,b"`, []EntityTag{{false, "a,b"}}, false, ""},
		{"\"\x80\xff\"", []EntityTag{{false, "\x80\xff"}}, false, ""},
		{`v1`, nil, false, "not in double quotes"},
		{`w/"v1"`, nil, false, `lower-case "w/"`},
		{`"v1`, nil, false, "no closing double quote"},
		{`"a b"`, nil, false, "byte 0x20"},
		{`"a" "b"`, nil, false, "where a comma belongs"},
		{`"a", *`, nil, false, `"*" must stand alone`},
		{`,,`, nil, false, "no entity tag"},
		{strings.Repeat(`"x",`, MaxETagListEntries+1), nil, false, "more than 32"},
	} {
		l, err := ParseETagList(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseETagList(%q) error %v, want one saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || l.Any != tc.any || !slices.Equal(l.Tags, tc.want) {
			t.Errorf("ParseETagList(%q) = %+v, %v; want %v any=%v", tc.in, l, err, tc.want, tc.any)
		}
	}
	// RFC 9110, 8.8.3.2's example table
	for _, tc := range []struct {
		a, b         string
		strong, weak bool
	}{
		{`W/"1"`, `W/"1"`, false, true},
		{`W/"1"`, `W/"2"`, false, false},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `"1"`, true, true},
	} {
		a, _ := ParseETag(tc.a)
		b, _ := ParseETag(tc.b)
		if a.StrongMatch(b) != tc.strong || a.WeakMatch(b) != tc.weak {
			t.Errorf("%s vs %s: strong %v weak %v, want %v %v", tc.a, tc.b, a.StrongMatch(b), a.WeakMatch(b), tc.strong, tc.weak)
		}
	}
}
