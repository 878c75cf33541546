package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOwnerTemplatesServeAndFailEarly(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all.html")
	one := filepath.Join(dir, "423.html")
	os.WriteFile(all, []byte(`<!doctype html><html lang="{{.Lang}}"><title>{{.Code}}</title><h1>{{.Text.Title}}</h1><p>{{.SiteName}}</p><p id=id>{{.RequestID}}</p></html>`), 0o600)
	os.WriteFile(one, []byte(`<!doctype html><p>locked page {{.Code}} {{.Time}}</p>`), 0o600)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/locked" {
			w.WriteHeader(http.StatusLocked)
			return
		}
		w.WriteHeader(http.StatusConflict)
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		site_name "<b>Shop</b>"
		template %s
		page 423 %s
	}
	reverse_proxy %s
}`, all, one, up))

	resp, body := in.do("GET", "/x", map[string]string{"Accept": browserAccept, "Accept-Language": "fr"}, nil)
	page := string(body)
	if resp.StatusCode != 409 || !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "<h1>Conflit</h1>") ||
		!strings.Contains(page, "&lt;b&gt;Shop&lt;/b&gt;") || resp.ContentLength != int64(len(body)) {
		t.Fatalf("template page: %d, Content-Length %d:\n%s", resp.StatusCode, resp.ContentLength, page)
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("CSP: %q", resp.Header.Get("Content-Security-Policy"))
	}
	resp, body = in.do("GET", "/locked", map[string]string{"Accept": browserAccept}, nil)
	if resp.StatusCode != 423 || !strings.Contains(string(body), "locked page 423 20") {
		t.Fatalf("per-status page: %d %s", resp.StatusCode, body)
	}
	// problem+json and text are not templated
	resp, body = in.do("GET", "/x", map[string]string{"Accept": "application/json"}, nil)
	if !strings.Contains(string(body), `"status":409`) {
		t.Fatalf("json: %s", body)
	}

	t.Run("TemplateFailingAtRenderTimeFallsBackToTheBuiltInPage", func(t *testing.T) {
		// provision tries templates with an all-zero request id; this one
		// fails only with a real one
		tricky := filepath.Join(dir, "tricky.html")
		os.WriteFile(tricky, []byte(`{{if eq .RequestID "00000000-0000-0000-0000-000000000000"}}<p>ok</p>{{else}}{{index .Text.Visitor 99}}{{end}}`), 0o600)
		in2 := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		template %s
	}
	reverse_proxy %s
}`, tricky, up))
		resp, body := in2.do("GET", "/x", map[string]string{"Accept": browserAccept}, nil)
		if resp.StatusCode != 409 || !strings.Contains(string(body), "<h1>"+headingHTML(409, 0)+"</h1>") || resp.ContentLength != int64(len(body)) {
			t.Fatalf("fallback page: %d, Content-Length %d:\n%s", resp.StatusCode, resp.ContentLength, body)
		}
		found := false
		for _, r := range in2.waitRecords(2) {
			if r["level"] == "error" && strings.Contains(fmt.Sprint(r["error"]), "index out of range") {
				found = true
			}
		}
		if !found {
			t.Fatalf("no error record for the failing template: %v", in2.records())
		}
	})

	t.Run("BrokenTemplateIsRejectedAtValidateNamingFileAndLine", func(t *testing.T) {
		for name, src := range map[string]string{
			"parse.html": "<p>{{.Text.Title}\n</p>",
			"exec.html":  "<p>{{.Text.Title}}</p>\n<p>{{.NoSuchField}}</p>",
		} {
			file := filepath.Join(dir, name)
			os.WriteFile(file, []byte(src), 0o600)
			cfg := filepath.Join(dir, "Caddyfile-"+name)
			os.WriteFile(cfg, []byte("http://127.0.0.1:1 {\n\texplain_errors {\n\t\ttemplate "+file+"\n\t}\n}\n"), 0o600)
			out, err := exec.Command(caddyBin, "validate", "--config", cfg, "--adapter", "caddyfile").CombinedOutput()
			if err == nil {
				t.Fatalf("%s: validate accepted a broken template:\n%s", name, out)
			}
			want := file + ":2"
			if name == "parse.html" {
				want = file + ":1"
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("%s: error does not name %s:\n%s", name, want, out)
			}
		}
	})
}
