package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// flood keeps a storm of conflict responses, or of explained handler
// errors, from filling a disk: each
// status gets at most rate records a second (with a burst of as many), and
// a summary record every interval says how many were left out.
type flood struct {
	limit rate.Limit
	burst int

	mu         sync.Mutex
	limiters   map[int]*rate.Limiter
	suppressed map[int]int64

	stop chan struct{}
	done chan struct{}
}

// parseRate reads "100/s", "6000/m" or "100" (a second).
func parseRate(s string) (rate.Limit, int, error) {
	num, per, _ := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("%q: must be a count and a unit like 100/s or 6000/m", s)
	}
	var d time.Duration
	switch per {
	case "", "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		return 0, 0, fmt.Errorf("%q: the unit must be s, m or h", s)
	}
	return rate.Limit(float64(n) / d.Seconds()), n, nil
}

func newFlood(limit rate.Limit, burst int, interval time.Duration, logger *zap.Logger) *flood {
	f := &flood{
		limit:      limit,
		burst:      burst,
		limiters:   make(map[int]*rate.Limiter),
		suppressed: make(map[int]int64),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go f.summarize(interval, logger)
	return f
}

// allow reports whether a record for status may be written now, and
// counts it as suppressed when not.
func (f *flood) allow(status int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.limiters[status]
	if l == nil {
		l = rate.NewLimiter(f.limit, f.burst)
		f.limiters[status] = l
	}
	if l.Allow() {
		return true
	}
	f.suppressed[status]++
	return false
}

// summarize writes, every interval and once more at the end, one record
// per status whose records were left out.
func (f *flood) summarize(interval time.Duration, logger *zap.Logger) {
	defer close(f.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.flush(logger, interval)
		case <-f.stop:
			f.flush(logger, interval)
			return
		}
	}
}

func (f *flood) flush(logger *zap.Logger, interval time.Duration) {
	f.mu.Lock()
	counts := f.suppressed
	f.suppressed = make(map[int]int64, len(counts))
	f.mu.Unlock()
	for status, n := range counts {
		msg := "records suppressed"
		if explain.IsConflictClass(status) {
			msg = "conflict records suppressed"
		}
		logger.Warn(msg,
			zap.Int("status", status),
			zap.Int64("suppressed", n),
			zap.Duration("interval", interval))
	}
}

// close stops the summaries after writing the last one.
func (f *flood) close() {
	close(f.stop)
	<-f.done
}
