package caddymodule

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestRecordHintComparesEveryIfMatchLine: a PUT whose If-Match comes on two
// lines, the second naming the current ETag, is recorded with both lines
// and the WebDAV headers, and its hint compares them instead of calling it
// a lost update.
func TestRecordHintComparesEveryIfMatchLine(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("ETag", `"v2"`)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusPreconditionFailed)
		return nil
	})
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodPut, "", rec)
	r.Header.Add("If-Match", `"v1"`)
	r.Header.Add("If-Match", `"v2"`)
	r.Header.Set("Overwrite", "F")
	r.Header.Set("Depth", "0")
	r.Header.Set("Destination", "https://example.com/b")
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	es := records(logs)
	if len(es) != 1 {
		t.Fatalf("%d records:%s", len(es), describe(es))
	}
	fields := es[0].ContextMap()
	pre, _ := fields["preconditions"].(map[string]any)
	for k, v := range map[string]string{"If-Match": `"v1", "v2"`, "Overwrite": "F", "Depth": "0", "Destination": "https://example.com/b"} {
		if pre[k] != v {
			t.Errorf("preconditions[%s] = %v, want %q (all: %v)", k, pre[k], v, pre)
		}
	}
	hint, _ := fields["hint"].(string)
	if !strings.Contains(hint, "did not fail") || strings.Contains(hint, "lost update") {
		t.Errorf("hint %q: If-Match lists the current ETag, so it did not fail", hint)
	}
}
