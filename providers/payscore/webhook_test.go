package payscore

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

const (
	exGroup     = "905963d4-0649-4046-8f39-7997a9e45ed4"
	exScreening = "4516efb4-82ed-43cd-a55a-ba93d4914562"
	testSecret  = "test-secret-key"
)

func mustClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = "client"
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = testSecret
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signed(body []byte, secret string) providers.Delivery {
	h := http.Header{}
	h.Set(SignatureHeader, Sign([]byte(secret), body))
	h.Set("Content-Type", "application/json")
	return providers.Delivery{Header: h, Body: body}
}

// TestParse_VendorFixtures parses every example body of the vendor document
// and checks the exact Update each gives.
func TestParse_VendorFixtures(t *testing.T) {
	consentAt := time.Unix(1693327958, 0).UTC()
	sub := func(code string, st providers.Status, out providers.Outcome, detail string) providers.Update {
		return providers.Update{OrderID: exGroup, SubID: exScreening, RawEvent: code, Status: st, Outcome: out, Detail: detail}
	}
	tests := map[string]providers.Update{
		"begin_screening.json":     sub(CodeBeginScreening, providers.StatusInProgress, "", "Started the Payscore screening."),
		"screening_completed.json": sub(CodeScreeningCompleted, providers.StatusCompleted, "", "Finished the Payscore screening."),
		"screening_group_completed.json": {
			OrderID: exGroup, RawEvent: CodeScreeningGroupCompleted, Status: providers.StatusCompleted,
			ReportReady: true, Refetch: true, Detail: "Every household member finished; the Payscore report is ready.",
		},
		"bank_not_supported.json":  sub(CodeBankNotSupported, providers.StatusActionRequired, "", "Bank not supported: Small Alaskan Credit Union"),
		"no_online_banking.json":   sub(CodeNoOnlineBanking, providers.StatusActionRequired, "", "No online banking: Small Alaskan Credit Union"),
		"bank_cannot_connect.json": sub(CodeBankCannotConnect, providers.StatusActionRequired, "", "Bank could not connect: Small Alaskan Credit Union"),
		"no_bank.json":             sub(CodeNoBank, providers.StatusCompleted, providers.OutcomeNoBank, "Said they have no bank account."),
		"share_bank.json":          sub(CodeShareBank, providers.StatusCompleted, providers.OutcomeSharedBank, "Said they share a bank account with another household member."),
		"no_income.json":           sub(CodeNoIncome, providers.StatusCompleted, providers.OutcomeNoIncome, "Said they have no income."),
		"re_open_screening.json":   sub(CodeReOpenScreening, providers.StatusInProgress, "", "Re-opened the Payscore screening to make changes."),
		"report_soon_to_expire.json": {
			OrderID: exGroup, RawEvent: CodeReportSoonToExpire, ReportExpiresSoon: true, Detail: "The Payscore report expires in 2 days.",
		},
		"report_expired.json": {
			OrderID: exGroup, RawEvent: CodeReportExpired, ReportExpired: true, Detail: "The Payscore report has expired (reports are kept 14 days).",
		},
		"invite_expired.json":    sub(CodeInviteExpired, providers.StatusExpired, "", "The Payscore invitation expired before it was finished (14 days)."),
		"applicant_added.json":   sub(CodeApplicantAdded, "", "", "Applicant added: John S."),
		"applicant_removed.json": sub(CodeApplicantRemoved, "", "", "Applicant removed: John S."),
		"initial_tos_and_privacy_policy_consent.json": func() providers.Update {
			u := sub(CodeInitialTOSAndPrivacyPolicyConsent, "", "", "Consented to the Payscore Terms of Service and Privacy Policy.")
			u.At = consentAt
			return u
		}(),
		"bank_connection_accuracy_consent.json": func() providers.Update {
			u := sub(CodeBankConnectionAccuracyConsent, "", "", "Confirmed a bank connection's income summary is accurate and complete.")
			u.At = consentAt
			return u
		}(),
		"combined_accounts_accuracy_consent.json": func() providers.Update {
			u := sub(CodeCombinedAccountsAccuracyConsent, "", "", "Confirmed the combined income summary of all bank connections is accurate and complete.")
			u.At = consentAt
			return u
		}(),
		"final_accuracy_and_completeness_consent.json": func() providers.Update {
			u := sub(CodeFinalAccuracyAndCompletenessConsent, "", "", "Gave final consent and submitted the income report.")
			u.At = consentAt
			return u
		}(),
	}

	// Every fixture in testdata/ must have an expectation: none is skipped.
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Fatalf("testdata has %d webhook fixtures, the table covers %d", len(files), len(tests))
	}

	c := mustClient(t, Config{})
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			d := signed(fixture(t, name), testSecret)
			if err := c.Authenticate(d); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			got, err := c.Parse(d)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d updates, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("update\n got  %+v\n want %+v", got[0], want)
			}
			if c.DedupeKey(d) != "" {
				t.Errorf("DedupeKey = %q, want empty", c.DedupeKey(d))
			}
		})
	}
}

// TestParse_ApplicantPIIStaysOut checks that the applicant's email, phone
// and last name from APPLICANT_ADDED/REMOVED reach no field of the Update.
func TestParse_ApplicantPIIStaysOut(t *testing.T) {
	for _, name := range []string{"applicant_added.json", "applicant_removed.json"} {
		ups, err := ParseWebhook(fixture(t, name))
		if err != nil || len(ups) != 1 {
			t.Fatalf("%s: %v %v", name, ups, err)
		}
		dump, _ := json.Marshal(ups[0])
		for _, pii := range []string{"john@gmail.com", "18001234567", "Smith"} {
			if bytes.Contains(dump, []byte(pii)) {
				t.Errorf("%s: update contains %q: %s", name, pii, dump)
			}
		}
	}
	// A null phone number, as the document allows, parses too.
	ups, err := ParseWebhook([]byte(`{"code":"APPLICANT_ADDED","screening_group_id":"g","screening_id":"s","value":{"applicant_first_name":"Ana","applicant_last_name":"li","applicant_email":"a@b.example","applicant_phone_number":null}}`))
	if err != nil || len(ups) != 1 || ups[0].Detail != "Applicant added: Ana L." {
		t.Fatalf("null phone: %+v %v", ups, err)
	}
}

// An unknown code keeps the order's status: one informational update with
// the raw code (for the timeline), marked Unknown (the portal logs it), and
// nothing else, not an error.
func TestParse_UnknownCodeKeepsStatus(t *testing.T) {
	ups, err := ParseWebhook([]byte(`{"code":"SOMETHING_NEW","screening_group_id":"g","screening_id":"s","value":{"applicant_first_name":"Ana"}}`))
	want := []providers.Update{{OrderID: "g", RawEvent: "SOMETHING_NEW", Unknown: true}}
	if err != nil || !reflect.DeepEqual(ups, want) {
		t.Fatalf("got %+v, %v; want %+v and no error", ups, err, want)
	}
}

func TestParse_Malformed(t *testing.T) {
	tests := map[string]string{
		"empty":                       ``,
		"not json":                    `code=BEGIN_SCREENING`,
		"truncated":                   `{"code":"BEGIN_SCREENING","screening_group_id":"g"`,
		"array":                       `[{"code":"BEGIN_SCREENING"}]`,
		"null":                        `null`,
		"trailing data":               `{"code":"NO_BANK","screening_group_id":"g","screening_id":"s"} {}`,
		"no code":                     `{"screening_group_id":"g","screening_id":"s"}`,
		"empty code":                  `{"code":"","screening_group_id":"g"}`,
		"code not a string":           `{"code":7,"screening_group_id":"g"}`,
		"no group":                    `{"code":"SCREENING_GROUP_COMPLETED"}`,
		"group not a string":          `{"code":"SCREENING_GROUP_COMPLETED","screening_group_id":12}`,
		"begin without screening":     `{"code":"BEGIN_SCREENING","screening_group_id":"g"}`,
		"no_income without screening": `{"code":"NO_INCOME","screening_group_id":"g"}`,
		"bank value not a string":     `{"code":"BANK_NOT_SUPPORTED","screening_group_id":"g","screening_id":"s","value":{"x":1}}`,
		"consent value not a time":    `{"code":"FINAL_ACCURACY_AND_COMPLETENESS_CONSENT","screening_group_id":"g","screening_id":"s","value":"yesterday"}`,
		"consent value missing":       `{"code":"INITIAL_TOS_AND_PRIVACY_POLICY_CONSENT","screening_group_id":"g","screening_id":"s"}`,
		"applicant value not object":  `{"code":"APPLICANT_ADDED","screening_group_id":"g","screening_id":"s","value":"John"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			ups, err := ParseWebhook([]byte(body))
			if !errors.Is(err, providers.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed (updates %v)", err, ups)
			}
			if body != "" && strings.Contains(err.Error(), body) {
				t.Errorf("error repeats the body: %v", err)
			}
		})
	}
}

// TestAuthenticate_Matrix is reliability.md W2 for Payscore.
func TestAuthenticate_Matrix(t *testing.T) {
	c := mustClient(t, Config{})
	body := fixture(t, "screening_group_completed.json")
	good := Sign([]byte(testSecret), body)

	flipBody := bytes.Clone(body)
	flipBody[10] ^= 0x01
	flipSig := []byte(good)
	if flipSig[0] == 'a' {
		flipSig[0] = 'b'
	} else {
		flipSig[0] = 'a'
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatal(err)
	}
	reordered := []byte(`{"screening_group_id":"` + exGroup + `","code":"SCREENING_GROUP_COMPLETED"}`)

	type tc struct {
		header []string // nil: no header at all
		body   []byte
	}
	bad := map[string]tc{
		"missing header":            {nil, body},
		"empty header":              {[]string{""}, body},
		"wrong secret":              {[]string{Sign([]byte("other-secret"), body)}, body},
		"body bit flip":             {[]string{good}, flipBody},
		"signature bit flip":        {[]string{string(flipSig)}, body},
		"truncated signature":       {[]string{good[:len(good)-2]}, body},
		"non-hex":                   {[]string{strings.Repeat("zz", 32)}, body},
		"sha256= prefix":            {[]string{"sha256=" + good}, body},
		"v1= prefix":                {[]string{"v1=" + good}, body},
		"repeated header":           {[]string{good, good}, body},
		"re-serialized compact":     {[]string{good}, compact.Bytes()},
		"re-serialized key order":   {[]string{good}, reordered},
		"signature of empty body":   {[]string{Sign([]byte(testSecret), nil)}, body},
		"base64 instead of hex":     {[]string{"3q2+7w=="}, body},
		"two values in one header":  {[]string{good + "," + good}, body},
		"signature over other body": {[]string{Sign([]byte(testSecret), fixture(t, "no_bank.json"))}, body},
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.header {
				h.Add(SignatureHeader, v)
			}
			err := c.Authenticate(providers.Delivery{Header: h, Body: tt.body})
			if !errors.Is(err, providers.ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
			if strings.Contains(err.Error(), exGroup) || strings.Contains(err.Error(), "SCREENING") {
				t.Errorf("error leaks body bytes: %v", err)
			}
		})
	}

	// Pinned: hex case does not matter (the vendor does not say which case
	// it sends); surrounding spaces are tolerated.
	for name, sig := range map[string]string{"lowercase": good, "uppercase": strings.ToUpper(good), "padded": " " + good + " "} {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		if err := c.Authenticate(providers.Delivery{Header: h, Body: body}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAuthenticate_WebhookSecret checks the UNCONFIRMED key choice: the API
// secret key by default, a separate WebhookSecret when configured.
func TestAuthenticate_WebhookSecret(t *testing.T) {
	body := fixture(t, "begin_screening.json")
	def := mustClient(t, Config{SecretKey: "api-secret"})
	if err := def.Authenticate(signed(body, "api-secret")); err != nil {
		t.Errorf("default key: %v", err)
	}
	sep := mustClient(t, Config{SecretKey: "api-secret", WebhookSecret: "hook-secret"})
	if err := sep.Authenticate(signed(body, "hook-secret")); err != nil {
		t.Errorf("separate key: %v", err)
	}
	if err := sep.Authenticate(signed(body, "api-secret")); !errors.Is(err, providers.ErrUnauthenticated) {
		t.Errorf("API key accepted although a webhook secret is set: %v", err)
	}
}

// TestParse_RefireSequence is reliability.md W8 on the vendor bodies: the
// legitimate re-fire of SCREENING_GROUP_COMPLETED is byte-identical, and
// every delivery is kept and ends completed with a report to fetch.
func TestParse_RefireSequence(t *testing.T) {
	c := mustClient(t, Config{})
	seq := []string{"screening_completed.json", "re_open_screening.json", "screening_completed.json", "screening_group_completed.json", "screening_group_completed.json"}
	wantSub := []providers.Status{providers.StatusCompleted, providers.StatusInProgress, providers.StatusCompleted}
	keys := map[string]int{}
	var groupUpdates []providers.Update
	for i, name := range seq {
		d := signed(fixture(t, name), testSecret)
		keys[c.DedupeKey(d)]++
		ups, err := c.Parse(d)
		if err != nil || len(ups) != 1 {
			t.Fatalf("%d %s: %v %v", i, name, ups, err)
		}
		u := ups[0]
		if i < 3 {
			if u.SubID != exScreening || u.Status != wantSub[i] {
				t.Errorf("%d %s: sub %q status %q, want %q", i, name, u.SubID, u.Status, wantSub[i])
			}
			continue
		}
		groupUpdates = append(groupUpdates, u)
	}
	if len(keys) != 1 || keys[""] != len(seq) {
		t.Errorf("dedupe keys %v: every delivery must have the empty key", keys)
	}
	if !bytes.Equal(fixture(t, seq[3]), fixture(t, seq[4])) {
		t.Fatal("the two group-completed bodies differ")
	}
	for i, u := range groupUpdates {
		if u.Status != providers.StatusCompleted || !u.ReportReady || !u.Refetch || u.SubID != "" {
			t.Errorf("group completion %d: %+v", i, u)
		}
	}
}

func TestMapScreening(t *testing.T) {
	tests := []struct {
		status, reason string
		want           providers.Status
		outcome        providers.Outcome
		raw            string
	}{
		{"not_started", "not_completed", "", "", "not_started/not_completed"},
		{"in_progress", "not_completed", providers.StatusInProgress, "", "in_progress/not_completed"},
		{"completed", "finished", providers.StatusCompleted, providers.OutcomeVerified, "completed/finished"},
		{"completed", "no_bank", providers.StatusCompleted, providers.OutcomeNoBank, "completed/no_bank"},
		{"completed", "share_bank", providers.StatusCompleted, providers.OutcomeSharedBank, "completed/share_bank"},
		{"completed", "shared_bank", providers.StatusCompleted, providers.OutcomeSharedBank, "completed/shared_bank"},
		{"completed", "no_income", providers.StatusCompleted, providers.OutcomeNoIncome, "completed/no_income"},
		{"completed", "no_online_banking", providers.StatusCompleted, "no_online_banking", "completed/no_online_banking"},
		{"completed", "", providers.StatusCompleted, "", "completed"},
		{"expired", "invite_expired", providers.StatusExpired, "", "expired/invite_expired"},
		{"mystery", "", "", "", "mystery"},
	}
	for _, tt := range tests {
		u := mapScreening(tt.status, tt.reason)
		if u.Status != tt.want || u.Outcome != tt.outcome || u.RawStatus != tt.raw {
			t.Errorf("mapScreening(%q, %q) = %q/%q raw %q; want %q/%q raw %q", tt.status, tt.reason, u.Status, u.Outcome, u.RawStatus, tt.want, tt.outcome, tt.raw)
		}
	}
}

func TestMapGroup(t *testing.T) {
	tests := []struct {
		status      string
		expired     bool
		want        providers.Status
		ready, gone bool
	}{
		{"pending", false, "", false, false},
		{"not_started", false, "", false, false},
		{"in_progress", false, providers.StatusInProgress, false, false},
		{"completed", false, providers.StatusCompleted, true, false},
		{"completed", true, providers.StatusCompleted, false, true},
		{"unknown", false, "", false, false},
	}
	for _, tt := range tests {
		u := mapGroup(tt.status, tt.expired)
		if u.Status != tt.want || u.ReportReady != tt.ready || u.ReportExpired != tt.gone || u.SubID != "" {
			t.Errorf("mapGroup(%q, %v) = %+v", tt.status, tt.expired, u)
		}
	}
}

// FuzzAuthenticate is reliability.md F1: never panics, and accepts exactly
// the correct signature.
func FuzzAuthenticate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b, Sign([]byte(testSecret), b))
		f.Add(b, "")
	}
	c, _ := New(Config{ClientID: "c", SecretKey: testSecret})
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		err := c.Authenticate(providers.Delivery{Header: h, Body: body})
		oracle := strings.EqualFold(strings.TrimSpace(sig), Sign([]byte(testSecret), body))
		if (err == nil) != oracle {
			t.Fatalf("accepted=%v, oracle=%v", err == nil, oracle)
		}
	})
}

// FuzzParseWebhook is reliability.md F2: never panics; an error is always
// ErrMalformed.
func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseWebhook(body); err != nil && !errors.Is(err, providers.ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}
