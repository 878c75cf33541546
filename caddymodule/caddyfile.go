package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("explain_errors", parseCaddyfile)
	// inside encode, so pages are compressed like everything else; outside
	// every handler that writes a response or routes to one
	httpcaddyfile.RegisterDirectiveOrder("explain_errors", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	explain_errors [<matcher>] {
//	    log            <statuses...> | off
//	    explain        <statuses...> | off
//	    bare_max       <size>
//	    excerpt        <size>
//	    stock_pages    on | off
//	    handler_errors on | off
//	    site_name      <name>
//	    contact        <url | e-mail address>
//	    home           <path | url>
//	    show_owner_notes on | off
//	    template       <file>
//	    page           <status> <file>
//	    note           <status> [<lang>] <text>
//	    catalog        <file> [<lang>]
//	    log_rate       <count>/<s|m|h>
//	    log_rate_interval <duration>
//	    monitor_records <count>
//	    monitor_groups  <count>
//	}
//
// Statuses are codes (409) or classes (4xx, 5xx). Sizes are bytes, with or
// without a unit (512, 1KiB). A note without a language is for every
// language without a note of its own.
func (m *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch name := d.Val(); name {
		case "log", "explain":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("explain_errors: %s: needs statuses (409, 4xx) or off", name)
			}
			off := len(args) == 1 && args[0] == "off"
			if !off {
				if _, err := parseStatuses(args); err != nil {
					return d.Errf("explain_errors: %s: %v", name, err)
				}
			}
			if name == "log" {
				m.LogOff, m.Log = off, nil
				if !off {
					m.Log = args
				}
			} else {
				m.ExplainOff, m.Explain = off, nil
				if !off {
					m.Explain = args
				}
			}
		case "bare_max", "excerpt":
			n, err := sizeArg(d, name)
			if err != nil {
				return err
			}
			if name == "bare_max" {
				m.BareMax = &n
			} else {
				m.Excerpt = &n
			}
		case "stock_pages", "handler_errors", "show_owner_notes":
			on, err := onOffArg(d, name)
			if err != nil {
				return err
			}
			switch name {
			case "stock_pages":
				m.StockPages = &on
			case "handler_errors":
				m.HandlerErrors = &on
			default:
				m.ShowOwnerNotes = on
			}
		case "log_rate":
			v, err := oneArg(d, name)
			if err != nil {
				return err
			}
			if _, _, err := parseRate(v); err != nil {
				return d.Errf("explain_errors: log_rate: %v", err)
			}
			m.LogRate = v
		case "monitor_records", "monitor_groups":
			if err := m.parseMonitorOption(d, name); err != nil {
				return err
			}
		case "log_rate_interval":
			v, err := oneArg(d, name)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return d.Errf("explain_errors: log_rate_interval: %q: must be a duration like 10s or 1m", v)
			}
			m.LogRateInterval = caddy.Duration(dur)
		case "site_name", "contact", "template", "home":
			v, err := oneArg(d, name)
			if err != nil {
				return err
			}
			switch name {
			case "site_name":
				m.SiteName = v
			case "contact":
				m.Contact = v
			case "home":
				m.Home = v
			default:
				m.Template = v
			}
		case "page":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("explain_errors: page: needs a status and a file, e.g. page 409 /etc/caddy/409.html")
			}
			code, err := strconv.Atoi(args[0])
			if err != nil || code < 400 || code > 599 {
				return d.Errf("explain_errors: page: %q: must be a 4xx or 5xx status code", args[0])
			}
			key := strconv.Itoa(code)
			if _, dup := m.Pages[key]; dup {
				return d.Errf("explain_errors: page: status %d has a page already", code)
			}
			if m.Pages == nil {
				m.Pages = make(map[string]string)
			}
			m.Pages[key] = args[1]
		case "note":
			if err := m.parseNote(d); err != nil {
				return err
			}
		case "catalog":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.Errf("explain_errors: catalog: needs a file and optionally a language, e.g. catalog /etc/caddy/shop.de.toml de")
			}
			c := Catalog{File: args[0]}
			if len(args) == 2 {
				if _, err := servedTag(args[1]); err != nil {
					return d.Errf("explain_errors: catalog: %v", err)
				}
				c.Lang = args[1]
			}
			m.Catalogs = append(m.Catalogs, c)
		default:
			return d.Errf("explain_errors: unknown subdirective %q", name)
		}
	}
	return nil
}

// parseNote reads note <status> [<lang>] <text>.
func (m *Handler) parseNote(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) < 2 || len(args) > 3 {
		return d.Errf(`explain_errors: note: needs a status, optionally a language, and a text, e.g. note 409 de "Rufen Sie uns an."`)
	}
	code, err := strconv.Atoi(args[0])
	if err != nil || code < 400 || code > 599 {
		return d.Errf("explain_errors: note: %q: must be a 4xx or 5xx status code", args[0])
	}
	lang, text := "", args[len(args)-1]
	if len(args) == 3 {
		lang = args[1]
		if _, err := servedTag(lang); err != nil {
			return d.Errf("explain_errors: note: %v", err)
		}
	}
	if strings.TrimSpace(text) == "" {
		return d.Errf("explain_errors: note: %d: needs a text", code)
	}
	key := strconv.Itoa(code)
	if _, dup := m.Notes[key][lang]; dup {
		return d.Errf("explain_errors: note: status %d%s has a note already", code, langSuffix(lang))
	}
	if m.Notes == nil {
		m.Notes = make(map[string]map[string]string)
	}
	if m.Notes[key] == nil {
		m.Notes[key] = make(map[string]string)
	}
	m.Notes[key][lang] = text
	return nil
}

func oneArg(d *caddyfile.Dispenser, name string) (string, error) {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.Errf("explain_errors: %s: needs exactly one value", name)
	}
	return args[0], nil
}

func sizeArg(d *caddyfile.Dispenser, name string) (int, error) {
	v, err := oneArg(d, name)
	if err != nil {
		return 0, err
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n > maxSize || strings.Contains(v, ".") {
		return 0, d.Errf("explain_errors: %s: %q: must be a whole size like 512 or 1KiB, at most 1MiB", name, v)
	}
	return int(n), nil
}

func onOffArg(d *caddyfile.Dispenser, name string) (bool, error) {
	v, err := oneArg(d, name)
	if err != nil {
		return false, err
	}
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, d.Errf("explain_errors: %s: %q: must be on or off", name, v)
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
