package explain

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// capturedRows is the row each captured error exchange must reach. Every
// exchange in testdata/hints/*.txt that answered 4xx or 5xx must be here,
// so a re-capture that changes a server's answer shows up.
var capturedRows = map[string]string{
	"apache-put-stale-if-match":           "if-match-no-etag",
	"apache-put-gzip-etag-if-match":       "if-match-encoder-suffix",
	"apache-put-if-match-weak":            "if-match-weak",
	"apache-put-if-none-match-star":       "if-none-match-star-exists",
	"apache-put-if-match-star-missing":    "if-match-star",
	"apache-put-if-unmodified-since-old":  "if-unmodified-since-no-last-modified",
	"apache-mkcol-missing-parent":         "mkcol-missing-parent",
	"apache-put-missing-parent":           "dav-missing-parent",
	"apache-copy-other-scheme":            "destination-other-origin",
	"apache-copy-overwrite-f":             "overwrite-f",
	"apache-propfind-depth-infinity":      "propfind-depth-infinity",
	"apache-lock-again":                   "lock-conflict",
	"apache-put-locked-no-token":          "locked-no-token",
	"apache-put-locked-lock-token-header": "lock-token-on-write",
	"apache-put-locked-wrong-if":          "dav-if-failed",
	"nginx-get-if-match-weakened":         "if-match-weak",
	"nginx-get-if-match-stale":            "if-match-no-etag",
	// nginx without create_full_put_path answers 500, not 409
	"nginx-put-missing-parent":          "status",
	"nginx-mkcol-missing-parent":        "mkcol-missing-parent",
	"nginx-copy-other-host":             "destination-other-origin",
	"nginx-copy-overwrite-f":            "overwrite-f",
	"nginx-get-if-unmodified-since-old": "if-unmodified-since-no-last-modified",
}

type capturedExchange struct {
	name, method string
	req, resp    http.Header
	status       int
}

// readCaptures parses the files testdata/hints/capture.sh writes.
func readCaptures(t *testing.T) []capturedExchange {
	files, _ := filepath.Glob(filepath.Join("testdata", "hints", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no captures in testdata/hints; run testdata/hints/capture.sh")
	}
	var out []capturedExchange
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		var cur *capturedExchange
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "case "):
				out = append(out, capturedExchange{name: strings.TrimPrefix(line, "case "), req: http.Header{}, resp: http.Header{}})
				cur = &out[len(out)-1]
			case cur == nil:
			case strings.HasPrefix(line, "> "):
				l := strings.TrimPrefix(line, "> ")
				if cur.method == "" {
					cur.method, _, _ = strings.Cut(l, " ")
				} else if k, v, ok := strings.Cut(l, ": "); ok {
					cur.req.Add(k, v)
				}
			case strings.HasPrefix(line, "< HTTP/"):
				if parts := strings.Fields(line); len(parts) > 2 {
					cur.status, _ = strconv.Atoi(parts[2])
				}
			case strings.HasPrefix(line, "< "):
				if k, v, ok := strings.Cut(strings.TrimPrefix(line, "< "), ": "); ok {
					cur.resp.Add(k, v)
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestHintFromCapturedServers: the exchanges capture.sh recorded from
// Debian's Apache httpd (mod_dav, mod_deflate) and nginx (dav, gzip) reach
// the rows the table has for them.
func TestHintFromCapturedServers(t *testing.T) {
	seen := 0
	for _, ex := range readCaptures(t) {
		if ex.status < 400 {
			continue
		}
		seen++
		t.Run(ex.name, func(t *testing.T) {
			want, ok := capturedRows[ex.name]
			if !ok {
				t.Fatalf("captured %s answered %d and has no expected row", ex.method, ex.status)
			}
			o := ObserveRequest(ex.method, ex.req, ex.req.Get("Host"), false)
			o.Status = ex.status
			o.ETag, o.LastModified, o.ContentType = ex.resp.Get("ETag"), ex.resp.Get("Last-Modified"), ex.resp.Get("Content-Type")
			o.Source = "upstream"
			if d := Diagnose(o); d.ID != want {
				t.Errorf("row %q (%s), want %q; observation %+v", d.ID, d.Hint(), want, o)
			}
		})
	}
	if seen != len(capturedRows) {
		t.Errorf("%d captured error exchanges, %d expected rows", seen, len(capturedRows))
	}
}
