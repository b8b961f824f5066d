package main

import (
	"testing"

	"caseverify/providers"
)

// TestCapabilities_AgreeWithTheAdapters: each provider's one Capabilities
// (declared in its package) says what its adapter does, and the optional
// interfaces the portal then asks for are there exactly when it says so,
// so a capability is never declared twice in ways that disagree (issue 16).
func TestCapabilities_AgreeWithTheAdapters(t *testing.T) {
	ps, err := twSetup(t, map[string]string{"BASE_URL": "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.list) != 5 {
		t.Fatalf("sandbox mode built %d providers, want all 5", len(ps.list))
	}
	for _, p := range ps.list {
		caps := p.Verifier.Capabilities()
		if p.Caps.Label != caps.Label || p.Label != caps.Label || caps.Label == "" || p.Name != p.Verifier.Name() {
			t.Errorf("%s: name %q, label %q, capabilities' label %q", p.Verifier.Name(), p.Name, p.Label, caps.Label)
		}
		_, widget := p.Verifier.(providers.Widget)
		_, resender := p.Verifier.(providers.Resender)
		_, renewer := p.Verifier.(providers.LinkRenewer)
		for _, c := range []struct {
			what          string
			declared, has bool
		}{
			{"a widget flow / providers.Widget", caps.Flow == providers.FlowWidget, widget},
			{"CanResend / providers.Resender", caps.CanResend, resender},
			{"RenewsLinks / providers.LinkRenewer", caps.RenewsLinks, renewer},
		} {
			if c.declared != c.has {
				t.Errorf("%s: %s declared %v, implemented %v", p.Name, c.what, c.declared, c.has)
			}
		}
		switch caps.Webhooks {
		case providers.WebhooksSigned, providers.WebhooksSharedSecret, providers.WebhooksHints:
		default:
			t.Errorf("%s: webhook trust %q is none of signed, shared secret, hints", p.Name, caps.Webhooks)
		}
		if caps.CanResend && !caps.CanNotify {
			t.Errorf("%s: resends its link but cannot send it", p.Name)
		}
		if (caps.Refresh.Limit > 0) != (caps.Refresh.Window > 0) {
			t.Errorf("%s: refresh limit %d in %s", p.Name, caps.Refresh.Limit, caps.Refresh.Window)
		}
		if caps.Refresh.InPlace != nil && caps.Refresh.InPlace[caps.Refresh.InPlaceDefault] == "" {
			t.Errorf("%s: refreshes in place but its default product %q has no service", p.Name, caps.Refresh.InPlaceDefault)
		}
	}
}
