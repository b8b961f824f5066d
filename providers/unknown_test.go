package providers

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLogUnknown: only an update marked Unknown is logged, with the
// provider's vocabulary; a value that is not a status word is not repeated.
func TestLogUnknown(t *testing.T) {
	for _, tt := range []struct {
		name   string
		u      Update
		want   []string
		absent []string
	}{
		{"not unknown", Update{RawStatus: "whatever"}, nil, []string{"whatever"}},
		{"status code", Update{Unknown: true, OrderID: "o-1", SubID: "voa", RawEvent: "postback", RawStatus: "5999"},
			[]string{"provider=acme", "raw_status=5999", "raw_event=postback", "sub_id=voa", "provider_order_id=o-1"}, nil},
		{"event name", Update{Unknown: true, RawEvent: "order.brand_new"}, []string{"raw_event=order.brand_new"}, nil},
		{"personal data where a status belongs", Update{Unknown: true, RawStatus: "ana.lopez@example.org", RawEvent: "Ana Lopez 555 0100"},
			[]string{"21 characters, not shown", "18 characters, not shown"}, []string{"ana", "Ana", "0100"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			LogUnknown(slog.New(slog.NewTextHandler(&buf, nil)), "acme", tt.u)
			out := buf.String()
			if tt.want == nil && out != "" {
				t.Fatalf("logged %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log %q lacks %q", out, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("log %q repeats %q", out, a)
				}
			}
		})
	}
	LogUnknown(nil, "acme", Update{Unknown: true}) // no logger: nothing, no panic
}
