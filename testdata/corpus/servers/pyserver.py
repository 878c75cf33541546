"""Python's http.server for the corpus: send_error as the standard library
writes it. Usage: pyserver.py PORT [ACCESS_LOG]"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/send_error409":
            self.send_error(409)
        elif self.path == "/send_error409-message":
            self.send_error(409, "Order 42 is at version 7; you edited version 6. Reload it and apply your change again.")
        elif self.path == "/send_error404":
            self.send_error(404)
        elif self.path == "/send_error500":
            self.send_error(500)
        else:
            self.send_error(404, "File not found")

    def log_request(self, code="-", size="-"):
        # one line a request, to the access log if one is named
        if len(sys.argv) > 2:
            with open(sys.argv[2], "a") as f:
                f.write('"%s" %s\n' % (self.requestline, code))


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
