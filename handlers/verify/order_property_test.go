package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"caseverify/providers"
	"caseverify/providers/accountchek"
	"caseverify/providers/truework"
	"caseverify/providers/truuth"
	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// propertyCase is one provider's realistic delivery sequence for one order,
// as wire bodies in the order the provider sent them.
type propertyCase struct {
	name     string
	provider *Provider
	seq      func(orderID string, t0 time.Time) [][]byte
}

// finalState is what a caseworker sees of an order once its deliveries are
// processed: the order's status and outcome and every sub-item's status.
type finalState struct {
	Status  store.OrderStatus
	Outcome store.Outcome
	Items   map[string]store.OrderStatus
}

// TestProperty_DeliveryOrderDoesNotMatter is issue 13 item 1's property: for
// random permutations and duplications of a realistic delivery sequence, for
// every provider, the state the webhooks leave (what is applied from them
// before any status read, which reads the provider's current state and so
// does not depend on the order of deliveries) equals the in-order state.
// Payscore's deliveries change nothing before the read (they are hints,
// applyHint); TestPayscore_ReplayedDeliveriesChangeNothing replays them
// shuffled and triplicated against its emulator's API.
func TestProperty_DeliveryOrderDoesNotMatter(t *testing.T) {
	ctx := context.Background()
	st, svc, newOrder := propertyStore(t)
	const trials = 40
	for _, pc := range propertyCases(t) {
		pc.provider.Caps = pc.provider.Verifier.Capabilities()
		svc.providers[pc.provider.Name] = pc.provider
		t.Run(pc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(13, uint64(len(pc.name))))
			t0 := time.Now().UTC().Add(-time.Hour)
			run := func(trial int, bodies func([][]byte) [][]byte) finalState {
				pid := fmt.Sprintf("%s-%s-%d", pc.provider.Name, pc.name, trial)
				o := newOrder(t, pc.provider.Name, pid)
				for _, b := range bodies(pc.seq(pid, t0)) {
					ups, err := pc.provider.Webhooks.Parse(providers.Delivery{Body: b})
					if err != nil {
						t.Fatalf("parse %s: %v", b, err)
					}
					for _, u := range ups {
						u = svc.asReceived(pc.provider, u)
						if _, _, err := st.ApplyUpdate(ctx, o.AgencyID, o.ID, svc.storeUpdate(o, u, u.Detail, "webhook")); err != nil {
							t.Fatal(err)
						}
					}
				}
				after, err := st.Order(ctx, o.AgencyID, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				items, err := st.ItemStatuses(ctx, o.AgencyID, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				return finalState{after.Status, after.Outcome, items}
			}
			want := run(0, func(b [][]byte) [][]byte { return b })
			for trial := 1; trial <= trials; trial++ {
				got := run(trial, func(b [][]byte) [][]byte { return permuteDup(r, b) })
				if got.Status != want.Status || got.Outcome != want.Outcome || !maps.Equal(got.Items, want.Items) {
					t.Fatalf("trial %d: %+v, in order %+v", trial, got, want)
				}
			}
			t.Logf("%d permutations end as in order: %+v", trials, want)
		})
	}
}

// permuteDup shuffles bodies and delivers a random share (up to half) twice.
func permuteDup(r *rand.Rand, bodies [][]byte) [][]byte {
	out := append([][]byte(nil), bodies...)
	share := r.Float64() / 2
	for _, b := range bodies {
		if r.Float64() < share {
			out = append(out, b)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func propertyStore(t *testing.T) (*store.Store, *Service, func(t *testing.T, provider, pid string) *store.Order) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "p.db"), store.Options{DataKey: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, _ := st.CreateAgency(ctx, "Property Agency")
	u, _ := st.CreateUser(ctx, a.ID, store.NewUser{Email: "p@t.gov", Name: "P", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	cs, _ := st.CreateCase(ctx, a.ID, u.ID, store.CaseInput{Number: "P-1", Program: "snap"})
	m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Diaz", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	return st, svc, func(t *testing.T, provider, pid string) *store.Order {
		o, err := st.CreateOrder(ctx, a.ID, store.NewOrder{CaseID: cs.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
			Provider: provider, Products: []string{"income"}, Notify: "agency"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AttachProviderOrder(ctx, a.ID, o.ID, store.ProviderOrder{OrderID: pid, Status: store.StatusSent}, "sent"); err != nil {
			t.Fatal(err)
		}
		return o
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func propertyCases(t *testing.T) []propertyCase {
	t.Helper()
	tv, err := truv.New(truv.Config{BaseURL: "http://127.0.0.1:1", ClientID: truv.SandboxClientID, AccessSecret: truv.SandboxAccessSecret})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := truework.New(truework.SandboxConfig("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := accountchek.New(accountchek.Config{BaseURL: "http://127.0.0.1:1", Username: accountchek.SandboxUsername,
		Password: accountchek.SandboxPassword})
	if err != nil {
		t.Fatal(err)
	}
	tu, err := truuth.New(truuth.Config{BaseURL: "http://127.0.0.1:1", Tenant: truuth.SandboxTenant, APIKey: "k", APISecret: "s",
		WebhookAuth: truuth.SandboxWebhookAuth})
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(t0 time.Time, i int) string {
		return t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
	}
	truvSeq := func(events [][3]string) func(string, time.Time) [][]byte {
		return func(id string, t0 time.Time) [][]byte {
			var out [][]byte
			for i, e := range events {
				m := map[string]any{"webhook_id": fmt.Sprintf("wh-%s-%d", id, i), "event_type": e[0], "order_id": id,
					"updated_at": stamp(t0, i)}
				if e[1] != "" {
					m["employer_id"] = e[1]
				}
				if e[2] != "" {
					m["status"] = e[2]
				}
				out = append(out, mustJSON(m))
			}
			return out
		}
	}
	trueworkSeq := func(events [][3]string) func(string, time.Time) [][]byte {
		return func(id string, t0 time.Time) [][]byte {
			var out [][]byte
			for i, e := range events {
				out = append(out, mustJSON(map[string]any{"version": "2023-10-30",
					"hook": map[string]any{"id": "123", "event": e[0], "triggered_at": stamp(t0, i)},
					"data": map[string]any{"order_id": id, "verification_request_id": e[1], "state": e[2]}}))
			}
			return out
		}
	}
	return []propertyCase{
		{name: "truv-reconnect", provider: &Provider{Name: "truv", Verifier: tv, Webhooks: tv}, seq: truvSeq([][3]string{
			{"order-created", "", ""}, {"order-status-updated", "", "sent"},
			{"task-status-updated", "emp1", "new"}, {"task-status-updated", "emp1", "login"}, {"link-connected", "", ""},
			{"order-status-updated", "emp1", "login_error"}, {"link-disconnected", "", ""},
			{"task-status-updated", "emp1", "login"}, {"link-connected", "", ""}, {"task-status-updated", "emp1", "mfa"},
		})},
		{name: "truv-two-employers-complete", provider: &Provider{Name: "truv", Verifier: tv, Webhooks: tv}, seq: truvSeq([][3]string{
			{"order-created", "", ""}, {"order-status-updated", "", "sent"},
			{"task-status-updated", "emp1", "new"}, {"task-status-updated", "emp2", "new"},
			{"order-status-updated", "emp2", "login_error"}, {"task-status-updated", "emp1", "parse"},
			{"task-status-updated", "emp2", "login"}, {"task-status-updated", "emp1", "done"},
			{"order-status-updated", "emp1", "completed"}, {"task-status-updated", "emp2", "done"},
			{"order-status-updated", "emp2", "completed"}, {"order-status-updated", "", "completed"},
		})},
		{name: "truework-action-then-done", provider: &Provider{Name: "truework", Verifier: tw, Webhooks: tw},
			seq: trueworkSeq([][3]string{
				{truework.EventStateChange, "vr1", "pending-approval"}, {truework.EventStateChange, "vr1", "processing"},
				{truework.EventStateChange, "vr1", "action-required"}, {truework.EventStateChange, "vr1", "processing"},
				{truework.EventApplicantActionRequired, "vr1", ""}, {truework.EventStateChange, "vr1", "processing"},
				{truework.EventStateChange, "vr1", "completed"}, {truework.EventOrderCompleted, "", ""},
			})},
		{name: "accountchek-postbacks", provider: &Provider{Name: "accountchek", Verifier: ac, Webhooks: ac},
			seq: func(id string, _ time.Time) [][]byte {
				var out [][]byte
				sum := sha256.Sum256([]byte(id))
				h := hex.EncodeToString(sum[:16])
				guid := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
				for _, code := range []string{"500", "501", "601", "509", "503", "634", "610", "507", "607"} {
					out = append(out, []byte("orderId="+guid+"&orderStatus="+code))
				}
				return out
			}},
		{name: "truuth-progress-result", provider: &Provider{Name: "truuth", Verifier: tu, Webhooks: tu}, seq: func(id string, _ time.Time) [][]byte {
			var out [][]byte
			for _, s := range []string{"IN_PROGRESS", "PROCESSING", "DONE"} {
				out = append(out, mustJSON(map[string]any{"verificationId": id, "status": s,
					"results": map[string]any{"proofingOutcomes": []map[string]any{{"name": "Document", "status": "PASS"}}}}))
			}
			return out
		}},
	}
}
