# Groups explain_errors' log records as the admin API's
# /explain_errors/summary does: by host, status, method and route, with ids
# in the path (numbers, UUIDs, hex of 16 digits or more) folded to :id.
#
#   jq -n -f monitoring/group-conflicts.jq /var/log/caddy/conflicts.log
#
# Records that log_rate left out of the log are not there to count; the
# summary counts them.
[inputs | select(.logger == "http.handlers.explain_errors" and (.msg == "conflict response" or .msg == "error response"))
 | .route = (.request.uri | sub("\\?.*"; "") | split("/")
     | map(if test("^([0-9]+|[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$") then ":id" else . end)
     | join("/"))]
| group_by([.request.host, .status, .request.method, .route])
| map({host: .[0].request.host, status: .[0].status, method: .[0].request.method, route: .[0].route,
       total: length, last_seen: (map(.ts) | max | if type == "number" then todate else . end),
       hints: (group_by(.hint) | map({hint: .[0].hint, count: length}) | sort_by(-.count))})
| sort_by(-.total) | .[]
