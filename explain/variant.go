package explain

import (
	"net/http"
	"strconv"
	"time"
)

// Variant is what a page depends on in one response beyond its status,
// language and format: whether it offers to try again, and how long it
// asks to wait. Both are bucketed small, so pages stay cached.
type Variant struct {
	// Retry offers "try again" (a link to the same address) as the
	// primary action: 5xx answers to GET and HEAD only.
	Retry bool
	// Wait is the wait from Retry-After, as an index into waitBuckets; 0
	// is none. 429 and 503 only.
	Wait uint8
}

// waitBuckets are the waits a page can show, in seconds: a Retry-After is
// rounded up to the next of them. Waits above a day are not shown.
var waitBuckets = [...]int{0, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}

// MakeVariant returns the variant of the page for a response with status
// code to a request with method, whose header carries retryAfter (the
// Retry-After value, or ""), at now.
//
// Retry-After is a number of seconds or an HTTP-date (RFC 9110 §10.2.3);
// anything else, a value longer than 64 bytes, a date in the past or a
// wait above a day shows no wait.
func MakeVariant(code int, method, retryAfter string, now time.Time) Variant {
	var v Variant
	if code >= 500 && code <= 599 && (method == http.MethodGet || method == http.MethodHead) {
		v.Retry = true
	}
	if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && retryAfter != "" {
		v.Wait = waitBucket(retryAfter, now)
	}
	return v
}

func (v Variant) normalize(code int) Variant {
	if code < 500 || code > 599 {
		v.Retry = false
	}
	if (code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable) || int(v.Wait) >= len(waitBuckets) {
		v.Wait = 0
	}
	return v
}

func waitBucket(ra string, now time.Time) uint8 {
	if len(ra) > 64 {
		return 0
	}
	secs := -1
	if allDigits(ra) {
		if len(ra) > 9 {
			return 0
		}
		secs, _ = strconv.Atoi(ra)
	} else if t, err := http.ParseTime(ra); err == nil {
		d := t.Sub(now)
		if d > 25*time.Hour {
			return 0
		}
		secs = int((d + time.Second - 1) / time.Second)
	}
	if secs <= 0 {
		return 0
	}
	for i, b := range waitBuckets {
		if i > 0 && secs <= b {
			return uint8(i)
		}
	}
	return 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// waitWords is a wait bucket in SI unit symbols (s, min, h), which read
// the same in every language the pages are written in.
func waitWords(i uint8) string {
	s := waitBuckets[i]
	switch {
	case s < 60:
		return strconv.Itoa(s) + " s"
	case s < 3600:
		return strconv.Itoa(s/60) + " min"
	}
	return strconv.Itoa(s/3600) + " h"
}
