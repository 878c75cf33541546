package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "conflicts",
		Usage: "[--address <admin-api>] [--config <path> [--adapter <name>]] [--recent] [--watch [--interval <d>] [--count <n>]] [--json] [--status <s>] [--host <h>] [--since <t>] [--limit <n>]",
		Short: "Shows the conflicts explain_errors saw, by route and cause",
		Long: `
Asks a running Caddy's admin API which conflict responses explain_errors saw,
and prints them grouped by host, status, method and route (ids in paths
folded to :id), with the counts of the last minute, the last hour and since
the monitor began, when the route last conflicted and its most frequent hint.

  caddy conflicts
  caddy conflicts --recent --limit 20
  caddy conflicts --watch
  caddy conflicts --status 412 --since 15m --json

--recent prints the latest records instead, newest first. --watch prints
again every --interval (default 2s) until interrupted, or --count times.
--json prints the admin API's JSON as it came, for scripts.

The admin API's address comes from --address, else from the config given by
--config (and --adapter), else from a Caddyfile in the current directory,
else it is Caddy's default, localhost:2019 — as for caddy reload.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("address", "", "The address of Caddy's admin API")
			cmd.Flags().StringP("config", "c", "", "The config file whose admin address to use")
			cmd.Flags().StringP("adapter", "a", "", "The name of the config adapter for --config")
			cmd.Flags().Bool("recent", false, "Print the latest records instead of the summary")
			cmd.Flags().Bool("watch", false, "Print again every --interval")
			cmd.Flags().Duration("interval", 2*time.Second, "How often --watch prints")
			cmd.Flags().Int("count", 0, "With --watch, stop after printing this many times (0: until interrupted)")
			cmd.Flags().Bool("json", false, "Print the admin API's JSON")
			cmd.Flags().String("status", "", "Only this status code (409) or class (4xx)")
			cmd.Flags().String("host", "", "Only this host")
			cmd.Flags().String("since", "", "Only since this RFC 3339 time or this long ago (15m)")
			cmd.Flags().Int("limit", 0, "At most this many rows (default: 50 records, every group)")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdConflicts)
		},
	})
}

func cmdConflicts(fl caddycmd.Flags) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runConflicts(ctx, os.Stdout, fl); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// conflictsOptions is `caddy conflicts`'s flags, read and checked.
type conflictsOptions struct {
	addr     string
	recent   bool
	watch    bool
	interval time.Duration
	count    int
	json     bool
	query    url.Values
}

func readConflictsFlags(fl caddycmd.Flags) (conflictsOptions, error) {
	o := conflictsOptions{
		recent:   fl.Bool("recent"),
		watch:    fl.Bool("watch"),
		interval: fl.Duration("interval"),
		count:    fl.Int("count"),
		json:     fl.Bool("json"),
		query:    url.Values{},
	}
	if len(fl.Args()) > 0 {
		return o, fmt.Errorf("conflicts: unexpected argument %q: the command takes only flags", strings.Join(fl.Args(), " "))
	}
	if o.interval < 100*time.Millisecond {
		return o, fmt.Errorf("conflicts: --interval %v: must be at least 100ms", o.interval)
	}
	if o.count < 0 {
		return o, fmt.Errorf("conflicts: --count %d: must not be negative", o.count)
	}
	if fl.Changed("count") && !o.watch {
		return o, errors.New("conflicts: --count goes with --watch")
	}
	if n := fl.Int("limit"); fl.Changed("limit") {
		if n < 1 {
			return o, fmt.Errorf("conflicts: --limit %d: must be at least 1", n)
		}
		o.query.Set("limit", strconv.Itoa(n))
	}
	for _, name := range []string{"status", "host", "since"} {
		if v := fl.String(name); v != "" {
			o.query.Set(name, v)
		}
	}
	addr, err := conflictsAddress(fl.String("address"), fl.String("config"), fl.String("adapter"))
	if err != nil {
		return o, fmt.Errorf("conflicts: %w", err)
	}
	o.addr = addr
	return o, nil
}

// conflictsAddress finds the admin API the way caddy reload does.
func conflictsAddress(address, config, adapter string) (string, error) {
	if address == "" && config == "" && caddyconfig.GetAdapter("caddyfile") != nil {
		if _, err := os.Stat("Caddyfile"); err == nil {
			config = "Caddyfile"
		}
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return "", fmt.Errorf("reading the admin API's address from %s (--address skips it): %w", config, err)
	}
	return addr, nil
}

// runConflicts is `caddy conflicts`, printing to w until ctx ends when
// watching.
func runConflicts(ctx context.Context, w io.Writer, fl caddycmd.Flags) error {
	o, err := readConflictsFlags(fl)
	if err != nil {
		return err
	}
	return o.run(ctx, w, time.Now)
}

func (o conflictsOptions) run(ctx context.Context, w io.Writer, now func() time.Time) error {
	for n := 1; ; n++ {
		var out bytes.Buffer
		if o.watch && !o.json {
			// clear the terminal, as watch(1) does
			out.WriteString("\x1b[H\x1b[2J")
			fmt.Fprintf(&out, "caddy conflicts on %s, every %v, at %s\n\n", o.addr, o.interval, now().Format(time.TimeOnly))
		}
		if err := o.once(&out, now()); err != nil {
			return err
		}
		if _, err := w.Write(out.Bytes()); err != nil {
			return err
		}
		if !o.watch || o.count > 0 && n >= o.count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
	}
}

// once asks the admin API once and prints its answer.
func (o conflictsOptions) once(w io.Writer, now time.Time) error {
	endpoint := "/explain_errors/summary"
	if o.recent {
		endpoint = "/explain_errors/recent"
	}
	body, err := o.get(endpoint)
	if err != nil {
		return err
	}
	if o.json {
		_, err := w.Write(body)
		return err
	}
	if o.recent {
		var recs []recentRow
		if err := json.Unmarshal(body, &recs); err != nil {
			return fmt.Errorf("conflicts: the admin API at %s answered %s with what is not a list of records: %v", o.addr, endpoint, err)
		}
		return printRecent(w, recs, now)
	}
	var s summaryView
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("conflicts: the admin API at %s answered %s with what is not a summary: %v", o.addr, endpoint, err)
	}
	if !s.Now.IsZero() {
		// ages by the clock of the Caddy that counted
		now = s.Now
	}
	return printSummary(w, s, now)
}

func (o conflictsOptions) get(endpoint string) ([]byte, error) {
	uri := endpoint
	if len(o.query) > 0 {
		uri += "?" + o.query.Encode()
	}
	resp, err := caddycmd.AdminAPIRequest(o.addr, http.MethodGet, uri, nil, nil)
	if err != nil {
		// AdminAPIRequest reports an HTTP error status in its message
		if msg := err.Error(); strings.HasPrefix(msg, "caddy responded with error: HTTP 404") {
			return nil, fmt.Errorf("conflicts: the admin API at %s has no %s: is the Caddy listening there built with explain_errors? (%w)", o.addr, endpoint, err)
		} else if strings.HasPrefix(msg, "caddy responded with error") {
			return nil, fmt.Errorf("conflicts: the admin API at %s refused %s: %w", o.addr, uri, err)
		}
		return nil, fmt.Errorf("conflicts: the admin API at %s is not reachable: %w; is Caddy running, with its admin API on at that address? (The admin global option sets it, \"admin off\" turns it off; --address points this command elsewhere.)", o.addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("conflicts: reading %s from the admin API at %s: %w", uri, o.addr, err)
	}
	return body, nil
}

// recentRow is what the --recent table shows of a record.
type recentRow struct {
	TS      time.Time `json:"ts"`
	Status  int       `json:"status"`
	Route   string    `json:"route"`
	Hint    string    `json:"hint"`
	Request struct {
		Method string `json:"method"`
		Host   string `json:"host"`
		URI    string `json:"uri"`
	} `json:"request"`
}

func printSummary(w io.Writer, s summaryView, now time.Time) error {
	if s.Handlers == 0 && len(s.Groups) == 0 {
		_, err := fmt.Fprintln(w, "No explain_errors handler is configured in this Caddy, so there is nothing to show.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(s.Groups) == 0 {
		fmt.Fprintf(tw, "No conflicts since %s.\n", s.Started.Local().Format(time.DateTime))
	} else {
		servers := map[string]bool{}
		for _, g := range s.Groups {
			servers[g.Server] = true
		}
		showServer := len(servers) > 1
		if showServer {
			fmt.Fprint(tw, "SERVER\t")
		}
		fmt.Fprintln(tw, "HOST\tMETHOD\tROUTE\tSTATUS\t1M\t1H\tTOTAL\tLAST SEEN\tTOP HINT")
		for _, g := range s.Groups {
			if showServer {
				fmt.Fprintf(tw, "%s\t", cell(g.Server, 24))
			}
			hint := "-"
			if len(g.Hints) > 0 {
				hint = g.Hints[0].Hint
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n",
				cell(g.Host, 40), cell(g.Method, 12), cell(g.Route, 60), g.Status,
				g.LastMinute, g.LastHour, g.Total, ago(now, g.LastSeen), cell(hint, 100))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d conflicts since %s; %d of at most %d groups shown, %d dropped as least recently seen; %d of %d records kept.\n",
		s.Total, s.Started.Local().Format(time.DateTime), len(s.Groups), s.GroupsCap, s.GroupsEvicted, s.RecordsKept, s.RecordsCap)
	return err
}

func printRecent(w io.Writer, recs []recentRow, now time.Time) error {
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, "No conflict records.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tSTATUS\tMETHOD\tHOST\tURI\tHINT")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", ago(now, r.TS), r.Status,
			cell(r.Request.Method, 12), cell(r.Request.Host, 40), cell(r.Request.URI, 60), cell(r.Hint, 100))
	}
	return tw.Flush()
}

// cell makes a value fit one table cell: one line, at most n characters.
func cell(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\t' {
			return ' '
		}
		return r
	}, cleanText([]byte(s)))
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// ago says how long before now t was, in a person's units.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return t.Local().Format(time.DateTime)
}
