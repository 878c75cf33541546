package integration

// The corpus's requests: which server, which request, and the decision a
// careful reader of the response makes (bare or not, and why), written by
// judgement of what each server sends, not by running the classifier.
// testdata/corpus/capture.sh records each one's raw response with
// TestCorpusCapture; explain's TestCorpus judges the recordings against
// these decisions; TestRealServersThroughCaddy sends the same requests
// through Caddy.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// User-Agents and Accept values of the clients the corpus is captured for.
const (
	uaChrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaCurl    = "curl/7.88.1"
	acceptWeb = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	// the application's own words, sent by every server that can carry them
	orderConflict = "Order 42 is at version 7; you edited version 6. Reload it and apply your change again."
)

// corpusClient is one client's identity: a name for the entry, and its
// request headers.
type corpusClient struct {
	name   string
	header [][2]string
}

var (
	clientChrome  = corpusClient{"chrome", [][2]string{{"User-Agent", uaChrome}, {"Accept", acceptWeb}}}
	clientFirefox = corpusClient{"firefox", [][2]string{{"User-Agent", uaFirefox}, {"Accept", acceptWeb}}}
	clientCurl    = corpusClient{"curl", [][2]string{{"User-Agent", uaCurl}, {"Accept", "*/*"}}}
	browsers      = []corpusClient{clientChrome, clientFirefox, clientCurl}
)

// corpusCase is one request of the corpus.
type corpusCase struct {
	name     string // the entry's file name, without .http
	server   string // needServer's name; "go" for net/http in the test, "caddy" for Caddy itself
	listener string // the server's listener
	method   string
	path     string
	header   [][2]string
	body     string
	// setup prepares the server's state (a document, a lock) before the
	// request; it is called with the server's base URL, and may be called
	// again (it must not mind what it finds)
	setup func(t testing.TB, base string)

	bare    bool
	why     string
	message string // the application's words, which must not be lost
}

func (c corpusCase) withClient(cl corpusClient, extra ...[2]string) corpusCase {
	c.name += "-" + cl.name
	c.header = append(append(append([][2]string(nil), cl.header...), extra...), c.header...)
	return c
}

// forClients makes one case a client.
func forClients(c corpusCase, clients []corpusClient, extra ...[2]string) []corpusCase {
	var out []corpusCase
	for _, cl := range clients {
		out = append(out, c.withClient(cl, extra...))
	}
	return out
}

var bigBody = strings.Repeat("x", 4096)

// davSetup makes /dav/doc.txt on a WebDAV server, and locks /dav/locked.txt.
func davSetup(t testing.TB, base string) {
	t.Helper()
	for _, p := range []string{"/dav/doc.txt", "/dav/locked.txt"} {
		req, _ := http.NewRequest(http.MethodPut, base+p, strings.NewReader("version 7\n"))
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	req, _ := http.NewRequest("LOCK", base+"/dav/locked.txt", strings.NewReader(`<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>corpus</D:owner></D:lockinfo>`))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Timeout", "Second-3600")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// couchSetup makes the database shop and the document order42 in it.
func couchSetup(t testing.TB, base string) {
	t.Helper()
	for _, r := range [][2]string{{"/couch/shop", ""}, {"/couch/shop/order42", `{"version":7}`}} {
		req, _ := http.NewRequest(http.MethodPut, base+r[0], strings.NewReader(r[1]))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("PUT %s: %v", r[0], err)
		}
		resp.Body.Close()
	}
}

const (
	whyStock     = "the server's stock page: it says no more than the status line"
	whyEmpty     = "empty"
	whyShortText = "a few words of plain text"
	whyJSONText  = "text/plain that is JSON: a program's answer"
	whyJSON      = "typed JSON: a program's answer"
	whyOwnWords  = "carries the application's own words"
	whyAppHTML   = "the application's own HTML"
)

func corpusCases() []corpusCase {
	var cs []corpusCase
	add := func(c ...corpusCase) { cs = append(cs, c...) }

	// nginx: every stock page for each browser (Chrome's is padded past
	// 512 bytes by msie_padding)
	for _, c := range []corpusCase{
		{name: "nginx-404", listener: "tokens-on", method: "GET", path: "/missing"},
		{name: "nginx-403", listener: "tokens-on", method: "GET", path: "/noindex/"},
		{name: "nginx-405", listener: "tokens-on", method: "POST", path: "/hello.txt", body: "a=1"},
		{name: "nginx-409-mkcol", listener: "tokens-on", method: "MKCOL", path: "/dav/missing/child/"},
		{name: "nginx-409-return", listener: "tokens-on", method: "GET", path: "/return409"},
		{name: "nginx-412-return", listener: "tokens-on", method: "GET", path: "/return412"},
		{name: "nginx-413", listener: "tokens-on", method: "POST", path: "/", body: bigBody},
		{name: "nginx-500-return", listener: "tokens-on", method: "GET", path: "/return500"},
		{name: "nginx-502", listener: "tokens-on", method: "GET", path: "/dead"},
		{name: "nginx-tokens-off-409", listener: "tokens-off", method: "GET", path: "/return409"},
		{name: "nginx-tokens-off-502", listener: "tokens-off", method: "GET", path: "/dead"},
	} {
		c.server, c.bare, c.why = "nginx", true, whyStock
		add(forClients(c, browsers)...)
	}
	for _, c := range []corpusCase{
		// nginx compresses only 200, 403 and 404 responses
		{name: "nginx-gzip-404", listener: "gzip", method: "GET", path: "/missing"},
		{name: "nginx-gzip-403", listener: "gzip", method: "GET", path: "/noindex/"},
	} {
		c.server, c.bare, c.why = "nginx", true, whyStock+" (gzip; judged decoded)"
		add(forClients(c, []corpusClient{clientChrome, clientFirefox}, [2]string{"Accept-Encoding", "gzip, deflate, br"})...)
	}
	add(
		corpusCase{name: "nginx-409-text", server: "nginx", listener: "tokens-on", method: "GET", path: "/text409",
			bare: true, why: whyShortText}.withClient(clientCurl),
		corpusCase{name: "nginx-409-customised", server: "nginx", listener: "tokens-on", method: "GET", path: "/custom409",
			why: whyOwnWords + " in a page the owner made from nginx's", message: orderConflict}.withClient(clientChrome),
	)

	// Apache 2.4, with ServerSignature On and a ServerAdmin, and Off
	for _, l := range []string{"signature-on", "signature-off"} {
		for _, c := range []corpusCase{
			{name: "404", method: "GET", path: "/missing"},
			{name: "403", method: "GET", path: "/denied"},
			{name: "405", method: "PUT", path: "/hello.txt", body: "new"},
			{name: "409-redirect", method: "GET", path: "/redirect409"},
			{name: "412-redirect", method: "GET", path: "/redirect412"},
			{name: "500-redirect", method: "GET", path: "/redirect500"},
			{name: "409-dav-mkcol", method: "MKCOL", path: "/dav/missing/child/"},
			{name: "412-dav-put", method: "PUT", path: "/dav/doc.txt", header: [][2]string{{"If-Match", `"v6"`}}, body: "version 6\n", setup: davSetup},
			{name: "423-dav-put", method: "PUT", path: "/dav/locked.txt", body: "version 6\n", setup: davSetup},
		} {
			c.name = "apache-" + l + "-" + c.name
			c.server, c.listener, c.bare, c.why = "apache", l, true, whyStock
			if l == "signature-on" {
				add(forClients(c, browsers)...)
			} else {
				add(c.withClient(clientChrome))
			}
		}
	}
	for _, l := range []string{"signature-on", "signature-off"} {
		for _, code := range []int{400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
			421, 422, 423, 424, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511} {
			add(corpusCase{name: fmt.Sprintf("apache-%s-status-%d", l, code), server: "apache", listener: l,
				method: "GET", path: fmt.Sprintf("/status/%d", code), bare: true, why: whyStock + " (its canned text for the status)"}.withClient(clientCurl))
		}
	}
	// mod_deflate is on for this site, but Apache sends its error pages
	// uncompressed: the corpus shows it
	for _, c := range []corpusCase{
		{name: "apache-accept-gzip-404", path: "/missing"},
		{name: "apache-accept-gzip-409-dav-mkcol", method: "MKCOL", path: "/dav/missing/child/"},
		{name: "apache-accept-gzip-500-redirect", path: "/redirect500"},
	} {
		c.server, c.listener, c.bare, c.why = "apache", "signature-on", true, whyStock+" (asked for gzip, sent uncompressed)"
		if c.method == "" {
			c.method = "GET"
		}
		add(forClients(c, []corpusClient{clientChrome, clientFirefox}, [2]string{"Accept-Encoding", "gzip, deflate, br"})...)
	}
	add(corpusCase{name: "apache-409-errordocument", server: "apache", listener: "signature-on", method: "GET", path: "/customised409",
		why: whyOwnWords + " (ErrorDocument with a text)", message: orderConflict}.withClient(clientChrome))

	// Tomcat 10: sendError with and without the application's message
	for _, c := range []corpusCase{
		{name: "tomcat-409-senderror-message", path: "/conflict.jsp", why: whyOwnWords + " (sendError's message)", message: orderConflict},
		{name: "tomcat-409-senderror", path: "/bare409.jsp", bare: true, why: whyStock},
		{name: "tomcat-412-senderror", path: "/bare412.jsp", bare: true, why: whyStock},
		{name: "tomcat-404", path: "/missing", bare: true, why: whyStock + " (its message is Tomcat's own, naming the path)"},
		{name: "tomcat-405-jsp-put", method: "PUT", path: "/bare409.jsp", bare: true, why: whyStock + " (its message is Tomcat's own)"},
		{name: "tomcat-500-exception", path: "/boom.jsp", why: whyOwnWords + " (the exception's message)", message: "Order 42 could not be saved: the stock service did not answer"},
	} {
		c.server, c.listener = "tomcat", "tomcat"
		if c.method == "" {
			c.method = "GET"
		}
		add(forClients(c, []corpusClient{clientChrome, clientCurl})...)
	}

	// lighttpd
	for _, c := range []corpusCase{
		{name: "lighttpd-404", method: "GET", path: "/missing"},
		{name: "lighttpd-403", method: "GET", path: "/denied"},
		{name: "lighttpd-413", method: "POST", path: "/", body: bigBody},
	} {
		c.server, c.listener, c.bare, c.why = "lighttpd", "lighttpd", true, whyStock
		add(forClients(c, []corpusClient{clientChrome, clientCurl})...)
	}

	// HAProxy's built-in error pages, and a text an owner configured
	for _, c := range []corpusCase{
		{name: "haproxy-403-deny", path: "/denied", bare: true, why: whyStock},
		{name: "haproxy-429-deny", path: "/limited", bare: true, why: whyStock},
		{name: "haproxy-404-deny", path: "/missing", bare: true, why: whyStock},
		{name: "haproxy-503-no-server", path: "/nobody", bare: true, why: whyStock},
		{name: "haproxy-503-server-down", path: "/", bare: true, why: whyStock},
		{name: "haproxy-409-return-text", path: "/text409", bare: true, why: whyShortText},
	} {
		c.server, c.listener, c.method = "haproxy", "haproxy", "GET"
		add(c.withClient(clientChrome))
	}

	// Varnish's built-in synthetic page
	for _, c := range []corpusCase{
		{name: "varnish-503-backend", path: "/", bare: true, why: whyStock},
		{name: "varnish-409-synth", path: "/synth409", bare: true, why: whyStock},
		{name: "varnish-412-synth", path: "/synth412", bare: true, why: whyStock},
		{name: "varnish-409-synth-reason", path: "/synth409-reason", why: whyOwnWords + " (synth's reason)", message: orderConflict},
	} {
		c.server, c.listener, c.method = "varnish", "varnish", "GET"
		add(c.withClient(clientChrome))
	}

	// Python's http.server
	for _, c := range []corpusCase{
		{name: "python-409-send_error", path: "/send_error409", bare: true, why: whyStock},
		{name: "python-404-send_error", path: "/send_error404", bare: true, why: whyStock},
		{name: "python-500-send_error", path: "/send_error500", bare: true, why: whyStock},
		{name: "python-404-file-not-found", path: "/missing", bare: true, why: whyStock + " (http.server's own message)"},
		{name: "python-409-send_error-message", path: "/send_error409-message", why: whyOwnWords + " (send_error's message)", message: orderConflict},
		{name: "python-501-unsupported-method", method: "PUT", path: "/send_error409", bare: true, why: whyStock + " (http.server's own message)"},
	} {
		c.server, c.listener = "python", "python"
		if c.method == "" {
			c.method = "GET"
		}
		add(c.withClient(clientChrome))
	}

	// Express (NODE_ENV=production) and express-pouchdb
	for _, c := range []corpusCase{
		{name: "express-404-default", path: "/express/missing", bare: true, why: whyStock + " (Express's finalhandler; it names the path)"},
		{name: "express-409-error-handler", path: "/express/error409", bare: true, why: whyStock + " (Express's finalhandler hides the error's message in production)"},
		{name: "express-500-error-handler", path: "/express/throw", bare: true, why: whyStock + " (Express's finalhandler)"},
		{name: "express-409-sendStatus", path: "/express/sendStatus409", bare: true, why: whyShortText + " (the reason phrase)"},
		{name: "express-409-send-text", path: "/express/send409", why: whyAppHTML + " (res.send of a string is text/html)", message: orderConflict},
		{name: "express-409-json", path: "/express/json409", why: whyJSON},
	} {
		c.server, c.listener, c.method = "node", "node", "GET"
		add(forClients(c, []corpusClient{clientChrome, clientCurl})...)
	}
	for _, c := range []corpusCase{
		{name: "pouchdb-409-conflict", method: "PUT", path: "/couch/shop/order42", body: `{"version":6}`,
			header: [][2]string{{"Content-Type", "application/json"}}, setup: couchSetup, why: whyJSONText, message: "Document update conflict"},
		{name: "pouchdb-404-missing", method: "GET", path: "/couch/shop/order43", setup: couchSetup, why: whyJSONText, message: "missing"},
		{name: "pouchdb-412-db-exists", method: "PUT", path: "/couch/shop", setup: couchSetup, why: whyJSONText, message: "file_exists"},
	} {
		c.server, c.listener = "node", "node"
		add(forClients(c, []corpusClient{clientChrome, clientCurl})...)
	}

	// Go's net/http, in this test binary
	for _, c := range []corpusCase{
		{name: "go-409-http-error", path: "/go/error409", bare: true, why: whyShortText},
		{name: "go-409-http-error-json", path: "/go/json409", why: whyJSONText, message: `"version_conflict"`},
		{name: "go-404-notfound", path: "/go/missing", bare: true, why: whyShortText},
	} {
		c.server, c.listener, c.method = "go", "go", "GET"
		add(c.withClient(clientChrome))
	}

	// PHP-FPM through Caddy's php_fastcgi, and Caddy itself
	for _, c := range []corpusCase{
		{name: "php-409-empty", path: "/php/empty409", bare: true, why: whyEmpty + " (PHP still sends text/html)"},
		{name: "php-409-text", path: "/php/text409", why: whyAppHTML + " (PHP's default type is text/html)", message: "Order 42 is at version 7"},
		{name: "php-409-plain", path: "/php/plain409", bare: true, why: whyShortText},
		{name: "php-409-json", path: "/php/json409", why: whyJSON},
		{name: "caddy-409-respond", path: "/respond409", bare: true, why: whyEmpty},
		{name: "caddy-409-respond-text", path: "/respond-text409", bare: true, why: whyShortText},
		{name: "caddy-409-error", path: "/error409", bare: true, why: whyEmpty + " (a handler error; Caddy writes no body)"},
		{name: "caddy-404-file-server", path: "/missing.html", bare: true, why: whyEmpty + " (a handler error; Caddy writes no body)"},
	} {
		c.server, c.listener, c.method = "caddy", "caddy", "GET"
		add(c.withClient(clientChrome))
	}
	return cs
}

// goCorpusHandler is the net/http application of the corpus.
var goCorpusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/go/error409":
		http.Error(w, orderConflict, http.StatusConflict)
	case "/go/json409":
		http.Error(w, `{"error":"version_conflict","current_version":7}`, http.StatusConflict)
	default:
		http.NotFound(w, r)
	}
})

// caddyCorpusSite is the Caddy site of the corpus's Caddy and PHP entries,
// with explain_errors or without.
func caddyCorpusSite(addr string, module bool, fastcgi string) string {
	mod := ""
	if module {
		mod = "explain_errors"
	}
	return fmt.Sprintf(`
%s {
	%s
	root * %s
	handle /php/* {
		root * %s
		php_fastcgi %s
	}
	respond /respond409 409
	respond /respond-text409 "%s" 409
	error /error409 "%s" 409
	file_server
}`, addr, mod, absCorpus("www"), absCorpus("php"), fastcgi, orderConflict, orderConflict)
}
