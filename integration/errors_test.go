package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHandlerErrorsAndRecordsThroughCaddy(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/conflict/{n}", func(w http.ResponseWriter, r *http.Request) {
		code := []int{409, 412, 423, 424, 428}[len(r.PathValue("n"))%5]
		w.WriteHeader(code)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	mux.HandleFunc("/leaving", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		chunk := []byte(strings.Repeat("z", 32<<10))
		for i := 0; i < 4096; i++ { // 128 MiB at most; the client leaves early
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	up := upstream(t, mux)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		explain 409 412 423 424 428 502
	}
	handle /dead {
		reverse_proxy %s
	}
	handle /error409 {
		error "version v1 is stale" 409
	}
	handle /error404 {
		error "no such thing" 404
	}
	reverse_proxy %s
	handle_errors {
		respond "handle_errors saw {err.status_code}" {err.status_code}
	}
}`, dead, up))

	t.Run("DeadUpstream502IsExplained", func(t *testing.T) {
		resp, body := in.do("GET", "/dead", map[string]string{"Accept": "application/json"}, nil)
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(body), `"status":502`) {
			t.Fatalf("got %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("HandlerError409IsExplainedAndLoggedAsHandler", func(t *testing.T) {
		before := len(in.records())
		resp, body := in.do("PUT", "/error409", map[string]string{"If-Match": `"v1"`}, strings.NewReader("new text"))
		if resp.StatusCode != 409 || !strings.HasPrefix(string(body), "409 Conflict") {
			t.Fatalf("got %d: %s", resp.StatusCode, body)
		}
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		pre, _ := rec["preconditions"].(map[string]any)
		if rec["source"] != "handler" || rec["explained"] != true || pre["If-Match"] != `"v1"` ||
			!strings.Contains(fmt.Sprint(rec["error"]), "version v1 is stale") {
			t.Fatalf("record: %v", rec)
		}
	})
	t.Run("HandlerErrorOutsideTheExplainSetReachesHandleErrors", func(t *testing.T) {
		resp, body := in.do("GET", "/error404", nil, nil)
		if resp.StatusCode != 404 || string(body) != "handle_errors saw 404" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("ExactlyOneRecordPerConflictResponse", func(t *testing.T) {
		before := len(in.records())
		const n = 2000
		var wg sync.WaitGroup
		ids := make(chan string, n)
		sem := make(chan struct{}, 64)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				path := fmt.Sprintf("/conflict/%s", strings.Repeat("x", 1+i%5))
				resp, body := in.do("GET", path, map[string]string{"Accept": "application/json"}, nil)
				if resp.StatusCode < 409 {
					t.Errorf("status %d", resp.StatusCode)
				}
				id := strings.SplitN(strings.SplitN(string(body), `"request_id":"`, 2)[1], `"`, 2)[0]
				ids <- id
				in.do("GET", "/ok", nil, nil) // a 200 between: no record
			}(i)
		}
		wg.Wait()
		close(ids)
		recs := in.waitRecords(before + n)[before:]
		if len(recs) != n {
			t.Fatalf("%d records for %d conflict responses", len(recs), n)
		}
		seen := map[string]int{}
		for _, r := range recs {
			seen[fmt.Sprint(r["uuid"])]++
		}
		for id := range ids {
			if seen[id] != 1 {
				t.Fatalf("request %s has %d records", id, seen[id])
			}
		}
	})
	t.Run("ClientLeavingMidBodyStillGivesItsRecord", func(t *testing.T) {
		before := len(in.records())
		c, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /leaving HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(in.base, "http://"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 100<<10)
		if _, err := io.ReadAtLeast(c, buf, len(buf)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		if rec["status"] != 409.0 || rec["explained"] != false || rec["body_bytes"].(float64) < 100<<10 {
			t.Fatalf("record: %v", rec)
		}
		time.Sleep(100 * time.Millisecond)
		if got := len(in.records()); got != before+1 {
			t.Fatalf("%d records for one response", got-before)
		}
	})
}
