package explain

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/webdav"
)

// TestHintFromRealWebDAV runs real exchanges against golang.org/x/net/webdav
// and feeds what came back (status, validators, type) and what was sent
// (through ObserveRequest, as the module captures it) to the table: the
// observations are the server's, not written from memory.
func TestHintFromRealWebDAV(t *testing.T) {
	srv := httptest.NewServer(&webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()})
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	do := func(method, path string, hdr map[string]string, body string) (*http.Request, *http.Response) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return req, resp
	}
	lockBody := `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>a</D:owner></D:lockinfo>`

	// the setup: files a.txt, b.txt and locked.txt (locked by someone)
	for _, p := range []string{"/a.txt", "/b.txt", "/locked.txt"} {
		if _, resp := do("PUT", p, nil, "x"); resp.StatusCode != 201 {
			t.Fatalf("PUT %s: %d", p, resp.StatusCode)
		}
	}
	_, resp := do("LOCK", "/locked.txt", map[string]string{"Timeout": "Second-600"}, lockBody)
	token := resp.Header.Get("Lock-Token")
	if resp.StatusCode != 200 || !regexp.MustCompile(`^<.+>$`).MatchString(token) {
		t.Fatalf("LOCK: %d, Lock-Token %q", resp.StatusCode, token)
	}

	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		status             int
		id                 string
	}{
		{"MkcolMissingParent", "MKCOL", "/no/such/", nil, "", 409, "mkcol-missing-parent"},
		{"PutMissingParent", "PUT", "/no/such/f.txt", nil, "x", 409, "dav-missing-parent"},
		{"LockOnLocked", "LOCK", "/locked.txt", nil, lockBody, 423, "lock-conflict"},
		{"PutLockedWithoutToken", "PUT", "/locked.txt", nil, "y", 423, "locked-no-token"},
		{"PutLockedWithLockTokenHeader", "PUT", "/locked.txt", map[string]string{"Lock-Token": token}, "y", 423, "lock-token-on-write"},
		{"PutWithWrongIfToken", "PUT", "/locked.txt", map[string]string{"If": "(<urn:uuid:00000000-0000-4000-8000-000000000000>)"}, "y", 412, "dav-if-failed"},
		{"PutIfTaggedOtherHost", "PUT", "/a.txt", map[string]string{"If": "<http://backend.internal/a.txt> (" + token + ")"}, "y", 412, "dav-if-tagged-other-host"},
		{"CopyOverwriteF", "COPY", "/a.txt", map[string]string{"Destination": srv.URL + "/b.txt", "Overwrite": "F"}, "", 412, "overwrite-f"},
		{"MoveWithoutOverwrite", "MOVE", "/a.txt", map[string]string{"Destination": srv.URL + "/b.txt"}, "", 412, "move-no-overwrite-header"},
		{"CopyDestinationOtherHost", "COPY", "/a.txt", map[string]string{"Destination": "http://other.example/c.txt"}, "", 502, "destination-other-origin"},
		{"CopyDestinationHTTPS", "COPY", "/a.txt", map[string]string{"Destination": "https://other.example/c.txt"}, "", 502, "destination-other-origin"},
		{"CopyToItself", "COPY", "/a.txt", map[string]string{"Destination": srv.URL + "/a.txt"}, "", 403, "destination-same-as-source"},
		{"CopyWithoutDestination", "COPY", "/a.txt", nil, "", 400, "destination-missing"},
		{"MoveDepthZero", "MOVE", "/a.txt", map[string]string{"Destination": srv.URL + "/c.txt", "Depth": "0"}, "", 400, "depth-not-allowed"},
		{"UnlockUnknownToken", "UNLOCK", "/a.txt", map[string]string{"Lock-Token": "<urn:uuid:00000000-0000-4000-8000-000000000000>"}, "", 409, "unlock-no-such-lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, resp := do(tc.method, tc.path, tc.hdr, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("x/net/webdav answered %s %s with %d, the case expects %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			o := ObserveRequest(req.Method, req.Header, host, false)
			o.Status = resp.StatusCode
			o.ETag = resp.Header.Get("Etag")
			o.LastModified = resp.Header.Get("Last-Modified")
			o.ContentType = resp.Header.Get("Content-Type")
			o.Source = "upstream"
			if d := Diagnose(o); d.ID != tc.id {
				t.Errorf("row %q (%s), want %q; observation %+v", d.ID, d.Hint(), tc.id, o)
			}
		})
	}
}
