// Command caddy is Caddy with its standard modules and explain_errors.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/explainerrors/caddy-explain-errors/caddymodule"
)

func main() {
	caddycmd.Main()
}
