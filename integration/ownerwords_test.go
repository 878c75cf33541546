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

// TestOwnerWordsThroughCaddy: a note from the Caddyfile and an override
// from an owner catalog reach the page of a bare 409 from a real upstream,
// escaped; a broken owner catalog is refused by caddy validate with its
// file and line.
func TestOwnerWordsThroughCaddy(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "page.html")
	os.WriteFile(tmpl, []byte(`<!doctype html><html lang="{{.Lang}}"><h1>{{.Text.Heading}}</h1><p id=note>{{.Note}}</p><a href="/">{{.UI.Home}}</a></html>`), 0o600)
	cat := filepath.Join(dir, "shop.toml")
	os.WriteFile(cat, []byte("[409]\nheading = \"Your order was not saved\"\n\n[ui]\nhome = \"Back to the <shop>\"\n"), 0o600)
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		template %s
		note 409 "Two people edited the same order; call the shop on 555-0100. <script>alert(1)</script>"
		catalog %s
	}
	reverse_proxy %s
}`, tmpl, cat, up))

	resp, body := in.do("POST", "/orders/7", map[string]string{"Accept": browserAccept, "Accept-Language": "en-GB,en;q=0.9"}, strings.NewReader("qty=2"))
	page := string(body)
	if resp.StatusCode != 409 || resp.Header.Get("Content-Language") != "en" {
		t.Fatalf("%d, Content-Language %q:\n%s", resp.StatusCode, resp.Header.Get("Content-Language"), page)
	}
	for _, want := range []string{
		`<html lang="en">`,
		"<h1>Your order was not saved</h1>",
		"<p id=note>Two people edited the same order; call the shop on 555-0100. &lt;script&gt;alert(1)&lt;/script&gt;</p>",
		">Back to the &lt;shop&gt;</a>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("the note's markup reached the page:\n%s", page)
	}

	t.Run("BrokenCatalogIsRejectedAtValidateNamingFileAndLine", func(t *testing.T) {
		for name, tc := range map[string]struct{ src, want string }{
			"unknown-key.toml": {"[409]\nnote = \"x\"\n\n[409.visitor]\nreload = \"y\"\n", ":5: 409.visitor.reload"},
			"bad-toml.toml":    {"[409]\nheading = \"x\"\nnote = \n", ":3:"},
			"bad-status.toml":  {"[409]\nnote = \"x\"\n[299]\nnote = \"y\"\n", ":3: [299]"},
		} {
			file := filepath.Join(dir, name)
			os.WriteFile(file, []byte(tc.src), 0o600)
			cfg := filepath.Join(dir, "Caddyfile-"+name)
			os.WriteFile(cfg, []byte("http://127.0.0.1:1 {\n\texplain_errors {\n\t\tcatalog "+file+"\n\t}\n}\n"), 0o600)
			out, err := exec.Command(caddyBin, "validate", "--config", cfg, "--adapter", "caddyfile").CombinedOutput()
			if err == nil {
				t.Fatalf("%s: validate accepted a broken catalog:\n%s", name, out)
			}
			if !strings.Contains(string(out), file+tc.want) {
				t.Fatalf("%s: error does not name %s%s:\n%s", name, file, tc.want, out)
			}
		}
	})
}
