package integration

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/webdav"
)

// TestWebDAVClientKeepsWorkingBehindTheModule drives a real WebDAV server
// (golang.org/x/net/webdav) through Caddy the way a WebDAV client does.
func TestWebDAVClientKeepsWorkingBehindTheModule(t *testing.T) {
	dav := &webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()}
	up := upstream(t, dav)
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	reverse_proxy %s
}`, up))

	step := func(method, path string, hdr map[string]string, body string, want int) (*http.Response, string) {
		t.Helper()
		resp, b := in.do(method, path, hdr, strings.NewReader(body))
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		return resp, string(b)
	}

	before := len(in.records())
	// MKCOL under a parent that does not exist: 409 (RFC 4918, 9.3.1)
	_, body := step("MKCOL", "/missing/child", nil, "", http.StatusConflict)
	if !strings.HasPrefix(body, "409 Conflict") {
		t.Fatalf("bare MKCOL 409 not explained: %q", body)
	}
	recs := in.waitRecords(before + 1)
	if hint := fmt.Sprint(recs[len(recs)-1]["hint"]); !strings.Contains(hint, "parent collection") {
		t.Fatalf("hint: %s", hint)
	}

	// the client goes on: make the parent, the child, a file in it
	step("MKCOL", "/missing", nil, "", http.StatusCreated)
	step("MKCOL", "/missing/child", nil, "", http.StatusCreated)
	resp, _ := step("PUT", "/missing/child/notes.txt", nil, "first version", http.StatusCreated)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("PUT gave no ETag")
	}

	// PROPFIND's 207 multistatus XML passes and parses: the collection and its child
	_, ms := step("PROPFIND", "/missing/", map[string]string{"Depth": "1", "Content-Type": "application/xml"},
		`<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`, http.StatusMultiStatus)
	var parsed struct {
		Responses []struct {
			Href string `xml:"href"`
		} `xml:"response"`
	}
	if err := xml.Unmarshal([]byte(ms), &parsed); err != nil || len(parsed.Responses) != 2 {
		t.Fatalf("multistatus: %v, %d responses:\n%s", err, len(parsed.Responses), ms)
	}

	// a write conditioned on a lock token nobody holds is refused with
	// 412 (RFC 4918, 10.4.1) and the record says which condition failed
	before = len(in.records())
	step("PUT", "/missing/child/notes.txt", map[string]string{"If": "(<opaquelocktoken:stale>)"}, "second version", http.StatusPreconditionFailed)
	recs = in.waitRecords(before + 1)
	rec := recs[len(recs)-1]
	pre, _ := rec["preconditions"].(map[string]any)
	if rec["status"] != 412.0 || pre["If"] != "(<opaquelocktoken:stale>)" || !strings.Contains(fmt.Sprint(rec["hint"]), "opaquelocktoken:stale") {
		t.Fatalf("412 record: %v", rec)
	}
	step("PUT", "/missing/child/notes.txt", nil, "second version", http.StatusCreated)

	// LOCK, then a write without the token is 423, with it 201
	resp, _ = step("LOCK", "/missing/child/notes.txt", map[string]string{"Timeout": "Second-60"},
		`<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype><d:owner>it</d:owner></d:lockinfo>`,
		http.StatusOK)
	token := resp.Header.Get("Lock-Token")
	if token == "" {
		t.Fatal("LOCK gave no Lock-Token")
	}
	before = len(in.records())
	step("PUT", "/missing/child/notes.txt", nil, "third version", http.StatusLocked)
	recs = in.waitRecords(before + 1)
	if hint := fmt.Sprint(recs[len(recs)-1]["hint"]); !strings.Contains(hint, "without a lock token") {
		t.Fatalf("423 hint: %s", hint)
	}
	step("PUT", "/missing/child/notes.txt", map[string]string{"If": "(" + token + ")"}, "third version", http.StatusCreated)
	step("UNLOCK", "/missing/child/notes.txt", map[string]string{"Lock-Token": token}, "", http.StatusNoContent)
	_, got := step("GET", "/missing/child/notes.txt", nil, "", http.StatusOK)
	if got != "third version" {
		t.Fatalf("GET after the session: %q", got)
	}
}
