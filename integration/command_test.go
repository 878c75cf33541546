package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// runCaddy runs the built binary with args and returns its stdout, its
// stderr and its exit code.
func runCaddy(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(caddyBin, args...)
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("running caddy %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

func TestCommandExplain(t *testing.T) {
	out, errOut, code := runCaddy(t, "explain", "409")
	if code != 0 {
		t.Fatalf("caddy explain 409: exit %d\n%s", code, errOut)
	}
	if want := explain.Owner(409, 0); out != want {
		t.Errorf("caddy explain 409 did not print explain.Owner(409, en):\n got: %q\nwant: %q", out, want)
	}
	for _, s := range []string{"409 Conflict", "For the site owner", "RFC 9110, Section 15.5.10"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}

	out, errOut, code = runCaddy(t, "explain", "412", "--format", "json")
	if code != 0 || !strings.Contains(out, `"status":412`) || !strings.Contains(out, `"instance":"urn:uuid:00000000-0000-0000-0000-000000000000"`) {
		t.Errorf("caddy explain 412 --format json: exit %d\n%s\n%s", code, out, errOut)
	}

	for _, bad := range []struct{ arg, want string }{
		{"abc", "not a number"},
		{"99", "100 to 599"},
		{"600", "100 to 599"},
		{"302", "not an error status"},
	} {
		out, errOut, code := runCaddy(t, "explain", bad.arg)
		if code == 0 || !strings.Contains(errOut, bad.want) || !strings.Contains(errOut, bad.arg) {
			t.Errorf("caddy explain %s: exit %d, stderr %q, want an error saying %q", bad.arg, code, errOut, bad.want)
		}
		if out != "" {
			t.Errorf("caddy explain %s printed %q", bad.arg, out)
		}
	}
	_, errOut, code = runCaddy(t, "explain", "409", "--lang", "xx")
	if code == 0 || !strings.Contains(errOut, "xx") || !strings.Contains(errOut, strings.Join(explain.Languages(), ", ")) {
		t.Errorf("caddy explain 409 --lang xx: exit %d, stderr %q", code, errOut)
	}
}

func TestCommandExplainAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, errOut, code := runCaddy(t, "explain", "--all", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	langs, codes := explain.Languages(), explain.Codes()
	want := len(langs)*len(codes)*3 + 1
	if !strings.Contains(out, fmt.Sprintf("wrote %d files", want)) {
		t.Errorf("summary %q does not say %d files", out, want)
	}
	total := 0
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if e.Name() != "index.html" {
				t.Errorf("unexpected file %s", e.Name())
			}
			total++
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(codes)*3 {
			t.Errorf("%s/ holds %d files, want %d", e.Name(), len(files), len(codes)*3)
		}
		total += len(files)
	}
	if len(entries) != len(langs)+1 {
		t.Errorf("%d entries in the output directory, want %d languages and index.html", len(entries), len(langs))
	}
	if total != want {
		t.Errorf("%d files, want %d", total, want)
	}
	page, err := os.ReadFile(filepath.Join(dir, "en", "409.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("<h1>"+headingHTML(409, 0)+"</h1>")) || !bytes.Contains(page, []byte(`<html lang="en" dir="ltr">`)) {
		t.Errorf("en/409.html is not the English 409 page:\n%.300s", page)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "en", "409.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(txt, []byte("409 Conflict\n")) {
		t.Errorf("en/409.txt starts %.40q", txt)
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(index, []byte(`<a href="`)); n != want-1 {
		t.Errorf("index.html has %d links, want %d", n, want-1)
	}
}
