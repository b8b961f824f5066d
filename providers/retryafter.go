package providers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter bounds what a provider's Retry-After can make the portal
// wait: a day, the longest a provider documents (Truv's refresh window). A
// larger or overflowing value is read as this, so a wrong header cannot
// hold a provider's calls (the Truework limiter pauses on it) for longer.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter reads a Retry-After header value in either form (RFC 9110
// §10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or ANSI C)
// taken from now. It returns 0 when the value is empty, unreadable, negative
// or a date already past, and at most MaxRetryAfter. Every adapter reads
// Retry-After through it.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || isRange(err) {
		switch {
		case err != nil && strings.HasPrefix(v, "-"), err == nil && secs <= 0:
			return 0
		case err != nil, secs > int64(MaxRetryAfter/time.Second):
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter)
	}
	return 0
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
