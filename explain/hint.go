package explain

import (
	"fmt"
	"strings"
)

// Observation is what the module saw of one error response, for Hint.
type Observation struct {
	Method string
	Status int
	// the request's preconditions
	IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince string
	// the WebDAV If and Lock-Token request headers
	If, LockToken string
	// the response's validators
	ETag, LastModified string
	ContentType        string
	// Source is "upstream" for a response the wrapped handlers wrote and
	// "handler" for an error they returned.
	Source string
	// Err is the error's message when Source is "handler".
	Err string
}

// Hint returns one line for the site owner: the likeliest reason for the
// response, from what the module saw. It never returns "".
func Hint(o Observation) string {
	m := o.Method
	switch o.Status {
	case 409:
		switch m {
		case "MKCOL":
			return "MKCOL answered 409: the parent collection of the new collection does not exist; create the parent first (RFC 4918, 9.3.1)"
		case "PUT", "MOVE", "COPY":
			if o.IfMatch == "" && o.If == "" {
				return m + " answered 409: the target conflicts with the resource's current state (for WebDAV usually a missing parent collection); the request carried no If-Match, so a stale write cannot be told apart from a fresh one"
			}
		}
		if o.IfMatch != "" && o.ETag != "" && !etagListHas(o.IfMatch, o.ETag) {
			return fmt.Sprintf("%s answered 409 with If-Match %s against current ETag %s: the client edited an older version; it must re-read the resource and merge", m, o.IfMatch, o.ETag)
		}
		return m + " answered 409: the request conflicts with the resource's current state (edit conflict, duplicate name or a missing parent); the body excerpt and the application log should say which"
	case 412:
		switch {
		case o.IfMatch != "" && o.ETag != "":
			return fmt.Sprintf("%s with If-Match %s met current ETag %s: a lost update was prevented; the client must GET the current version and retry", m, o.IfMatch, o.ETag)
		case o.IfMatch != "":
			return fmt.Sprintf("%s with If-Match %s failed and the response named no current ETag: the resource changed or is gone; check that no proxy or encoder rewrites ETags (weak W/ or -gzip suffixes)", m, o.IfMatch)
		case o.IfUnmodifiedSince != "" && o.LastModified != "":
			return fmt.Sprintf("%s with If-Unmodified-Since %s met Last-Modified %s: the resource changed after the client read it", m, o.IfUnmodifiedSince, o.LastModified)
		case o.IfUnmodifiedSince != "":
			return fmt.Sprintf("%s with If-Unmodified-Since %s failed: the resource changed after that time", m, o.IfUnmodifiedSince)
		case o.IfNoneMatch != "":
			return fmt.Sprintf("%s with If-None-Match %s failed: a matching representation already exists (If-None-Match: * guards against creating twice)", m, o.IfNoneMatch)
		case o.If != "":
			return fmt.Sprintf("%s with WebDAV If %s failed: the lock token or entity tag in it no longer matches", m, o.If)
		}
		return m + " answered 412 though the request carried no precondition the module knows; check what the application compares"
	case 423:
		if o.If == "" && o.LockToken == "" {
			return m + " hit a locked resource without a lock token: the client must send the token in the If header, or the lock must be released (UNLOCK) or time out"
		}
		return fmt.Sprintf("%s hit a locked resource; the token it sent (If %q, Lock-Token %q) is not the lock's owner token: a stale lock or another client holds it", m, o.If, o.LockToken)
	case 424:
		return m + " failed because another action it depended on failed first; the multistatus body names the action that failed"
	case 428:
		if o.IfMatch == "" && o.IfUnmodifiedSince == "" && o.If == "" {
			return m + " carried no precondition and the application requires one: the client must GET, keep the ETag and send it in If-Match"
		}
		return m + " carried a precondition the application did not accept as sufficient; check which header it requires"
	case 502:
		if o.Source == "handler" {
			return "the proxy could not get a response from the upstream: " + shortErr(o.Err)
		}
		return "an upstream or gateway behind the site answered 502 itself: look one hop further"
	case 504:
		if o.Source == "handler" {
			return "the upstream did not answer in time: " + shortErr(o.Err)
		}
		return "a gateway behind the site timed out waiting on its own upstream"
	case 503:
		return "the service is unavailable (maintenance, overload or no healthy upstream); Retry-After tells clients when to return"
	}
	if o.Source == "handler" && o.Err != "" {
		return fmt.Sprintf("a handler returned %d: %s", o.Status, shortErr(o.Err))
	}
	s, _ := Lookup(o.Status)
	return fmt.Sprintf("%s answered %d %s", m, o.Status, s.Reason)
}

// etagListHas reports whether the If-Match list holds etag (strong
// comparison; "*" matches anything).
func etagListHas(list, etag string) bool {
	for part := range strings.SplitSeq(list, ",") {
		p := strings.TrimSpace(part)
		if p == "*" || p == etag {
			return true
		}
	}
	return false
}

func shortErr(s string) string {
	if s == "" {
		return "no error message"
	}
	if len(s) > 200 {
		// cut at 200 bytes, dropping a character cut in half
		return strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
