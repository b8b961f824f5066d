package main

import (
	"net/http"
	"strings"
	"testing"
)

// Static files are not logged at info (every page pulls several); pages
// are.
func TestRequestLog_StaticFilesAtDebug(t *testing.T) {
	p := startPortal(t, map[string]string{"LOG_LEVEL": "info"})
	if code, _ := get(t, p.URL+"/static/css/app.css"); code != http.StatusOK {
		t.Fatalf("static file: %d", code)
	}
	if code, _ := get(t, p.URL+"/login"); code != http.StatusOK {
		t.Fatalf("sign-in page: %d", code)
	}
	log := p.logs.String()
	if strings.Contains(log, "route=/static") {
		t.Errorf("a static file was logged at info:\n%s", log)
	}
	if !strings.Contains(log, "route=/login") {
		t.Errorf("the page request was not logged:\n%s", log)
	}
}
