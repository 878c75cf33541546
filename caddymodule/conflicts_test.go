package caddymodule

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// runConflictsCmd parses args with the flags the registered command
// defines and runs it, returning what it printed.
func runConflictsCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()["conflicts"]
	if !ok {
		t.Fatal(`the "conflicts" command is not registered`)
	}
	cmd := &cobra.Command{Use: "conflicts"}
	c.CobraFunc(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := runConflicts(context.Background(), &b, caddycmd.Flags{FlagSet: cmd.Flags()})
	return b.String(), err
}

func TestConflictsCommandRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--count", "2"}, "--count goes with --watch"},
		{[]string{"--watch", "--count", "-1"}, "--count -1"},
		{[]string{"--watch", "--interval", "1ms"}, "--interval 1ms"},
		{[]string{"--limit", "0"}, "--limit 0"},
		{[]string{"--config", "/nonexistent/Caddyfile"}, "/nonexistent/Caddyfile"},
	} {
		_, err := runConflictsCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestConflictsCommandSaysWhenNothingAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = runConflictsCmd(t, "--address", addr)
	if err == nil || !strings.Contains(err.Error(), "the admin API at "+addr+" is not reachable") {
		t.Errorf("%v", err)
	}
}

func TestPrintSummarySaysWhenNoHandlerIsConfigured(t *testing.T) {
	var b bytes.Buffer
	if err := printSummary(&b, summaryView{Groups: []groupView{}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No explain_errors handler is configured") {
		t.Errorf("%q", b.String())
	}
}

func TestCellKeepsTheTableOnOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "-",
		"a\tb\nc\x1b[31m":       "a b c [31m",
		"\u202eevil":            " evil",
		strings.Repeat("é", 30): strings.Repeat("é", 9) + "…",
	} {
		if got := cell(in, 10); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local)
	for d, want := range map[time.Duration]string{
		0:                "just now",
		42 * time.Second: "42s ago",
		5 * time.Minute:  "5m ago",
		30 * time.Hour:   "30h ago",
		72 * time.Hour:   "2025-12-30 15:04:05",
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
	if ago(now, time.Time{}) != "-" {
		t.Error("a zero time is not -")
	}
}
