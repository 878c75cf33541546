package caddymodule

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the module's Prometheus collectors. Every label has a small,
// fixed set of values: server names from the config, status codes from
// 400 to 599, formats, sources.
type metrics struct {
	conflicts  *prometheus.CounterVec // server, status, source
	pages      *prometheus.CounterVec // server, status, format
	suppressed *prometheus.CounterVec // server, status
}

// newMetrics registers the collectors in reg, or takes the ones another
// explain_errors handler of the same config registered already.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "explain_errors", Name: "responses_total",
			Help: "Responses whose status is in explain_errors' log set, by server, status and source (upstream or handler).",
		}, []string{"server", "status", "source"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "explain_errors", Name: "pages_total",
			Help: "Explanation pages served in place of bare error bodies, by server, status and format.",
		}, []string{"server", "status", "format"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "explain_errors", Name: "records_suppressed_total",
			Help: "Log records left out by log_rate, by server and status.",
		}, []string{"server", "status"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []**prometheus.CounterVec{&m.conflicts, &m.pages, &m.suppressed} {
		if err := reg.Register(*c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			*c = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return m, nil
}

// statusLabels avoids formatting a status for every sample.
var statusLabels = func() (s [200]string) {
	for i := range s {
		s[i] = strconv.Itoa(400 + i)
	}
	return
}()

func statusLabel(code int) string {
	if code >= 400 && code < 600 {
		return statusLabels[code-400]
	}
	return "other"
}
