package caddymodule

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestStockPageWithTheApplicationsWordsPassesAndTheRecordQuotesThem: a
// Tomcat status page that carries the application's sendError message,
// or an nginx page an owner put words in (captured in testdata/corpus), is
// not bare: the visitor gets it byte for byte, and the record carries the
// message as text, not as the page's markup, however the page is written.
func TestStockPageWithTheApplicationsWordsPassesAndTheRecordQuotesThem(t *testing.T) {
	const words = "Order 42 is at version 7; you edited version 6. Reload it and apply your change again."
	h, logs := newTestHandler(t, &Handler{})
	for _, tc := range []struct {
		entry  string
		chunks int
	}{
		{"tomcat-409-senderror-message-chrome", 1},
		{"tomcat-409-senderror-message-chrome", 7},
		{"nginx-409-customised-chrome", 1},
		{"nginx-409-customised-chrome", 5},
	} {
		body := corpusBody(tc.entry)
		if !strings.Contains(body, words) {
			t.Fatalf("%s does not hold the message: %.200q", tc.entry, body)
		}
		chunks := tc.chunks
		t.Run(tc.entry+"/writes"+strconv.Itoa(chunks), func(t *testing.T) {
			rec := newRecorder()
			r, _ := newRequest(t, http.MethodPut, browserAccept, rec)
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html;charset=UTF-8")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(http.StatusConflict)
				step := (len(body) + chunks - 1) / chunks
				for i := 0; i < len(body); i += step {
					if _, err := w.Write([]byte(body[i:min(i+step, len(body))])); err != nil {
						return err
					}
				}
				return nil
			})
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusConflict || rec.Body.String() != body {
				t.Fatalf("client got %d and %d bytes, want 409 and Tomcat's %d bytes unchanged", rec.Code, rec.Body.Len(), len(body))
			}
			es := records(logs)
			if len(es) != 1 {
				t.Fatalf("records:%s", describe(es))
			}
			f := es[0].ContextMap()
			if f["upstream_message"] != words || f["explained"] != false {
				t.Fatalf("record: upstream_message %q, explained %v; want %q, false", f["upstream_message"], f["explained"], words)
			}
		})
	}
}
