vcl 4.1;
# Varnish for the corpus: {DEAD} a loopback port nobody listens on.
backend dead { .host = "127.0.0.1"; .port = "{DEAD}"; }
sub vcl_recv {
	if (req.url == "/synth409") { return (synth(409)); }
	if (req.url == "/synth412") { return (synth(412)); }
	if (req.url == "/synth409-reason") {
		return (synth(409, "Order 42 is at version 7; you edited version 6. Reload it and apply your change again."));
	}
}
