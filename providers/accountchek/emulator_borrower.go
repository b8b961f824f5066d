package accountchek

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// emuOrder is one order in the emulator. Guarded by Emulator.mu.
type emuOrder struct {
	ID              string
	Created         time.Time
	Status          string // building, opened, inprogress, closed, canceled
	Email           string
	Last4SSN        string
	ReferenceNumber string
	FirstName       string
	LastName        string
	NotificationURL string
	ReturnURL       string
	PhoneNumber     string
	EmployerName    string
	SSNLast4Masked  string // "***-**-1234" when a full SSN was sent
	DateOfBirth     string // YYYY-MM-DD
	Address         *emuAddress
	ExpiresAt       time.Time // daysRemaining reaches 0

	Token       string    // current borrower link token
	TokenIssued time.Time // SSO expiry counts from here
	VODID       string    // deprecated VOD_ID sent in VOA postbacks

	VOA *emuVOA
	VOE *emuVOE

	queue   []postback // postbacks waiting to be sent, in order
	sending bool       // a sender goroutine is draining queue
}

// emuAddress is the optional borrower address.
type emuAddress struct {
	Street  string `json:"street"`
	Street2 string `json:"street2"`
	City    string `json:"city"`
	State   string `json:"state"`
	Zip     string `json:"zip"`
}

// emuVOA is the VOA service of an order.
type emuVOA struct {
	RequestType       string
	DaysBack          int
	AccountMonitoring int
	Status            string // "created" until the order opens, then the code
	Institution       string
	Notice            string      // message for the borrower page
	Reports           []emuReport // newest first
	MonitoringEnds    time.Time   // set by the first report
}

// emuVOE is the VOIE service of an order.
type emuVOE struct {
	Status  string // "created" until the borrower reaches the payroll login
	Payroll string
	Notice  string
	Reports []emuReport // newest first
}

// emuReport is one generated report.
type emuReport struct {
	ID      string
	Created time.Time
	Seq     int // 0 for the first report, +1 per refresh (varies the data)
}

// Borrower actions, shared by the borrower pages and the Borrower test hook.
const (
	actArrive      = "arrive"
	actInstitution = "institution"
	actBankLogin   = "bank_login"
	actMFA         = "mfa"
	actPayroll     = "payroll"
)

// Sandbox scenario inputs, shown in the borrower page's hint.
const (
	bankUserGood   = "user_good"
	bankPassGood   = "pass_good"
	bankUserMFA    = "user_mfa"
	bankUserUpdate = "user_update"
	mfaCode        = "1234"
	payrollGood    = "payroll_good"
	payrollBad     = "payroll_bad"
	payrollUpdate  = "payroll_update"
)

// institutions are the sandbox banks. A function, not a variable: no
// package-level mutable state.
func institutions() []string {
	return []string{"Sandbox Bank", "Sandbox Credit Union", "Platypus Savings"}
}

// payrollProviders are the sandbox payroll providers.
func payrollProviders() []string { return []string{"Sandbox Payroll", "Sandbox HR Cloud"} }

// Errors of borrower actions. Pages turn them into pages; the test hook
// returns them.
var (
	errLinkNotReady = errors.New("accountchek emulator: the order is not opened yet")
	errLinkClosed   = errors.New("accountchek emulator: the order is closed or canceled")
	errLinkExpired  = errors.New("accountchek emulator: the borrower link expired")
	errStep         = errors.New("accountchek emulator: step not possible in the current state")
)

// BorrowerStep is one thing the applicant does on the borrower site, for
// the Borrower test hook.
type BorrowerStep struct {
	action string
	form   url.Values
}

// Arrive opens the borrower link (VOA 501; VOIE 601 when payroll is next;
// 5010 when the link has expired).
func Arrive() BorrowerStep { return BorrowerStep{action: actArrive} }

// ChooseInstitution picks a bank (VOA 503).
func ChooseInstitution(name string) BorrowerStep {
	return BorrowerStep{action: actInstitution, form: url.Values{"institution": {name}}}
}

// BankLogin enters bank credentials (505, then 5061/510/507 for
// user_good/pass_good, 506 for user_mfa, 509 for user_update).
func BankLogin(username, password string) BorrowerStep {
	return BorrowerStep{action: actBankLogin, form: url.Values{"username": {username}, "password": {password}}}
}

// EnterMFA answers the bank's MFA question (code 1234 succeeds).
func EnterMFA(code string) BorrowerStep {
	return BorrowerStep{action: actMFA, form: url.Values{"code": {code}}}
}

// PayrollLogin signs in to a payroll provider (payroll_good → 610, 607;
// payroll_update → 609; anything else → 634).
func PayrollLogin(username, password string) BorrowerStep {
	return BorrowerStep{action: actPayroll, form: url.Values{
		"provider": {payrollProviders()[0]}, "username": {username}, "password": {password}}}
}

// Borrower drives the borrower site for orderID without a browser, one
// step at a time, exactly as the pages do (including the arrival a browser
// makes when it follows each form's redirect). It returns an error for an
// unknown order, a closed, unopened or expired link, or a step that is not
// possible in the current state; wrong credentials are not errors (they
// change the status, as on the page).
func (e *Emulator) Borrower(orderID string, steps ...BorrowerStep) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.orders[orderID]
	if o == nil {
		return fmt.Errorf("accountchek emulator: no order %s", orderID)
	}
	for i, s := range steps {
		if err := e.act(o, s.action, s.form); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.action, err)
		}
		if s.action != actArrive {
			if err := e.act(o, actArrive, nil); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s.action, err)
			}
		}
	}
	return nil
}

// ServiceStatus returns the VOA and VOIE status of an order ("" when the
// service is not attached) and the order status, for tests.
func (e *Emulator) ServiceStatus(orderID string) (voa, voe, order string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.orders[orderID]
	if o == nil {
		return "", "", "", false
	}
	e.tick(o)
	if o.VOA != nil {
		voa = o.VOA.Status
	}
	if o.VOE != nil {
		voe = o.VOE.Status
	}
	return voa, voe, o.Status, true
}

// tick applies what the clock decides: AccountChek closes an order when
// daysRemaining reaches 0 and when account monitoring ends. Caller holds
// e.mu.
func (e *Emulator) tick(o *emuOrder) {
	if o.Status == "closed" || o.Status == "canceled" {
		return
	}
	now := e.now()
	if !now.Before(o.ExpiresAt) || (o.VOA != nil && !o.VOA.MonitoringEnds.IsZero() && !now.Before(o.VOA.MonitoringEnds)) {
		o.Status = "closed"
	}
}

// daysRemaining is the order's remaining life in days, as the API shows it.
func (e *Emulator) daysRemaining(o *emuOrder) float64 {
	if o.Status == "closed" || o.Status == "canceled" {
		return 0
	}
	end := o.ExpiresAt
	if o.VOA != nil && !o.VOA.MonitoringEnds.IsZero() && o.VOA.MonitoringEnds.Before(end) {
		end = o.VOA.MonitoringEnds
	}
	d := end.Sub(e.now()).Hours() / 24
	return max(d, 0)
}

// act applies one borrower action. Caller holds e.mu.
func (e *Emulator) act(o *emuOrder, action string, form url.Values) error {
	if err := e.linkUsable(o); err != nil {
		return err
	}
	switch action {
	case actArrive:
		return e.arrive(o)
	case actInstitution:
		return e.chooseInstitution(o, form.Get("institution"))
	case actBankLogin:
		return e.bankLogin(o, form.Get("username"), form.Get("password"))
	case actMFA:
		return e.mfa(o, form.Get("code"))
	case actPayroll:
		return e.payrollLogin(o, form.Get("provider"), form.Get("username"))
	}
	return errStep
}

// linkUsable checks the order can be worked on and the link has not
// expired; an expired link moves VOA to 5010 (once). Caller holds e.mu.
func (e *Emulator) linkUsable(o *emuOrder) error {
	e.tick(o)
	switch o.Status {
	case "building":
		return errLinkNotReady
	case "closed", "canceled":
		return errLinkClosed
	}
	if !e.now().Before(o.TokenIssued.Add(e.cfg.SSOLinkTTL)) {
		if o.VOA != nil && o.VOA.Status != "507" {
			e.setVOA(o, "5010")
		}
		return errLinkExpired
	}
	return nil
}

// arrive records the borrower reaching the site or the next task.
func (e *Emulator) arrive(o *emuOrder) error {
	if o.Status == "opened" {
		o.Status = "inprogress"
	}
	if v := o.VOA; v != nil && (v.Status == "500" || v.Status == "5010") {
		e.setVOA(o, "501")
	}
	if e.nextTask(o) == SubIDVOIE && o.VOE.Status == "created" {
		e.setVOE(o, "601")
	}
	return nil
}

// nextTask is the service the borrower works on now: VOA first, then
// VOIE; "" when everything is done.
func (e *Emulator) nextTask(o *emuOrder) string {
	if o.VOA != nil && o.VOA.Status != "507" {
		return SubIDVOA
	}
	if o.VOE != nil && o.VOE.Status != "607" {
		return SubIDVOIE
	}
	return ""
}

// chooseInstitution picks the bank (503).
func (e *Emulator) chooseInstitution(o *emuOrder, name string) error {
	v := o.VOA
	if e.nextTask(o) != SubIDVOA || !slices.Contains([]string{"501", "503", "505", "509"}, v.Status) {
		return errStep
	}
	if !slices.Contains(institutions(), name) {
		v.Notice = "Choose one of the banks in the list."
		return nil
	}
	v.Institution, v.Notice = name, ""
	e.setVOA(o, "503")
	return nil
}

// bankLogin starts enrollment (505) and plays the bank scenario chosen by
// the username: success, MFA (506), needs update (509) or refused.
func (e *Emulator) bankLogin(o *emuOrder, user, pass string) error {
	v := o.VOA
	if e.nextTask(o) != SubIDVOA || !slices.Contains([]string{"503", "505", "509"}, v.Status) {
		return errStep
	}
	e.setVOA(o, "505")
	switch {
	case user == bankUserGood && pass == bankPassGood:
		v.Notice = ""
		e.completeVOA(o)
	case user == bankUserMFA:
		v.Notice = ""
		e.setVOA(o, "506")
	case user == bankUserUpdate:
		v.Notice = "Your bank needs you to update your sign-in details. Sign in again to continue."
		e.setVOA(o, "509")
	default:
		v.Notice = "We could not sign in to your bank with those details. Check them and try again."
	}
	return nil
}

// mfa answers the MFA question; the sandbox code is 1234.
func (e *Emulator) mfa(o *emuOrder, code string) error {
	v := o.VOA
	if e.nextTask(o) != SubIDVOA || v.Status != "506" {
		return errStep
	}
	if code != mfaCode {
		v.Notice = "That code is not right. Check the code your bank sent and try again."
		return nil
	}
	v.Notice = ""
	e.completeVOA(o)
	return nil
}

// completeVOA runs account verification and generates the report:
// 5061, 510, then 507 with the report id, in that order.
func (e *Emulator) completeVOA(o *emuOrder) {
	e.setVOA(o, "5061")
	e.setVOA(o, "510")
	e.newVOAReport(o)
}

// newVOAReport adds a report and announces it with 507.
func (e *Emulator) newVOAReport(o *emuOrder) emuReport {
	v := o.VOA
	rep := emuReport{ID: newGUID(), Created: e.now(), Seq: len(v.Reports)}
	v.Reports = slices.Insert(v.Reports, 0, rep)
	if v.MonitoringEnds.IsZero() {
		v.MonitoringEnds = rep.Created.Add(time.Duration(v.AccountMonitoring) * 24 * time.Hour)
	}
	v.Status = "507"
	e.enqueue(o, "507", rep.ID)
	return rep
}

// payrollLogin plays the payroll scenario chosen by the username: success
// (610, 607), needs update (609) or login error (634).
func (e *Emulator) payrollLogin(o *emuOrder, provider, user string) error {
	v := o.VOE
	if e.nextTask(o) != SubIDVOIE || !slices.Contains([]string{"601", "634", "609"}, v.Status) {
		return errStep
	}
	if !slices.Contains(payrollProviders(), provider) {
		v.Notice = "Choose your payroll provider from the list."
		return nil
	}
	v.Payroll = provider
	switch user {
	case payrollGood:
		v.Notice = ""
		e.setVOE(o, "610")
		e.newVOEReport(o)
	case payrollUpdate:
		v.Notice = "Your payroll provider needs you to update your sign-in details or answer a security check. Sign in again to continue."
		e.setVOE(o, "609")
	default:
		v.Notice = "We could not sign in to your payroll provider with those details. Check them and try again."
		// 634 is sent for every failed attempt: each is a new login error.
		v.Status = "634"
		e.enqueue(o, "634", "")
	}
	return nil
}

// newVOEReport adds a VOIE report and announces it with 607.
func (e *Emulator) newVOEReport(o *emuOrder) emuReport {
	v := o.VOE
	rep := emuReport{ID: newGUID(), Created: e.now(), Seq: len(v.Reports)}
	v.Reports = slices.Insert(v.Reports, 0, rep)
	v.Status = "607"
	e.enqueue(o, "607", rep.ID)
	return rep
}

// setVOA moves VOA to code and queues its postback, if it changed.
func (e *Emulator) setVOA(o *emuOrder, code string) {
	if o.VOA == nil || o.VOA.Status == code {
		return
	}
	o.VOA.Status = code
	e.enqueue(o, code, "")
}

// setVOE moves VOIE to code and queues its postback, if it changed.
func (e *Emulator) setVOE(o *emuOrder, code string) {
	if o.VOE == nil || o.VOE.Status == code {
		return
	}
	o.VOE.Status = code
	e.enqueue(o, code, "")
}
