package truework

import (
	"testing"

	"caseverify/providers"
)

// TestMapState is the §7.1 table for the states alone.
func TestMapState(t *testing.T) {
	tests := []struct {
		canonical, raw string
		want           providers.Status
		detail         string
	}{
		{"pending-approval", "", providers.StatusCreated, ""},
		{"processing", "", providers.StatusInProgress, ""},
		{"action-required", "", providers.StatusActionRequired, detailActionRequired},
		{"action-requred", "", providers.StatusActionRequired, detailActionRequired},
		{"completed", "", providers.StatusCompleted, ""},
		{"canceled", "", providers.StatusCanceled, detailVerifierCancel},
		{"invalid", "", providers.StatusFailed, detailInvalid},
		{"other", "Awaiting employer callback", "", "Truework status: Awaiting employer callback"},
		{"other", "", "", "Truework status: other"},
		{"not-a-state", "x", "", ""},
		{"", "", "", ""},
	}
	c := newTestClient(t, "https://api.truework-sandbox.com", nil)
	for _, tt := range tests {
		t.Run(tt.canonical+"/"+tt.raw, func(t *testing.T) {
			got, detail := c.mapState(tt.canonical, tt.raw)
			if got != tt.want || detail != tt.detail {
				t.Errorf("mapState(%q, %q) = %q, %q; want %q, %q", tt.canonical, tt.raw, got, detail, tt.want, tt.detail)
			}
		})
	}
}

// TestMapCanceled: verifier reasons cancel; no-match, no reason and
// reasons only Truework gives fail.
func TestMapCanceled(t *testing.T) {
	tests := []struct {
		name   string
		reason *valueWrapper
		want   providers.Status
	}{
		{"no reason (Truework denied)", nil, providers.StatusFailed},
		{"empty reason", &valueWrapper{}, providers.StatusFailed},
		{"no-match", &valueWrapper{Canonical: "no-match"}, providers.StatusFailed},
		{"immediate", &valueWrapper{Canonical: "immediate"}, providers.StatusCanceled},
		{"high-turnaround-time", &valueWrapper{Canonical: "high-turnaround-time"}, providers.StatusCanceled},
		{"competitor", &valueWrapper{Canonical: "competitor"}, providers.StatusCanceled},
		{"wrong-info", &valueWrapper{Canonical: "wrong-info"}, providers.StatusCanceled},
		{"other", &valueWrapper{Canonical: "other"}, providers.StatusCanceled},
		{"unknown Truework reason", &valueWrapper{Canonical: "employer-refused"}, providers.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, detail := mapCanceled(tt.reason); got != tt.want || detail == "" {
				t.Errorf("mapCanceled = %q, %q; want %q with a detail", got, detail, tt.want)
			}
		})
	}
}

func TestDeriveStatus(t *testing.T) {
	const (
		cr = providers.StatusCreated
		ip = providers.StatusInProgress
		ar = providers.StatusActionRequired
		co = providers.StatusCompleted
		ca = providers.StatusCanceled
		fa = providers.StatusFailed
	)
	tests := []struct {
		name string
		in   []providers.Status
		want providers.Status
	}{
		{"no requests", nil, cr},
		{"all pending", []providers.Status{cr, cr}, cr},
		{"one processing", []providers.Status{cr, ip}, ip},
		{"one done, one waiting", []providers.Status{co, cr}, ip},
		{"action required wins", []providers.Status{ip, ar, co}, ar},
		{"all done, one completed", []providers.Status{co, ca, fa}, co},
		{"failed beats canceled", []providers.Status{ca, fa}, fa},
		{"all canceled", []providers.Status{ca, ca}, ca},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deriveStatus(tt.in); got != tt.want {
				t.Errorf("deriveStatus(%v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
