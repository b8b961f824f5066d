package views

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"caseverify/store"
)

// OrderRow is one verification as the case page and the live stream show it.
type OrderRow struct {
	ID          int64
	CaseID      int64
	MemberName  string
	Provider    string // label
	Products    string
	Status      store.OrderStatus
	Outcome     store.Outcome
	Detail      string
	UpdatedAt   time.Time
	HasReport   bool
	ReportGone  bool // expired or purged
	Channel     string
	LinkExpires time.Time
	Household   string // "For Maria, Luis" on a household order
	// ForMemberID is set on a household order's row under one of its
	// members: the status and outcome are that member's part.
	ForMemberID int64
	// Checking says the provider did not answer the create and the portal
	// is asking it whether it has the order (store.Order.Checking).
	Checking bool
}

// StatusText is the row's status for people: "Checking with Truv…" while
// the portal does not know whether the provider has the order.
func (r OrderRow) StatusText() string {
	if r.Checking {
		return "Checking with " + r.Provider + "…"
	}
	return StatusLabel(r.Status)
}

// ForMember is a household order's row as one of its members sees it: their
// own part's status and outcome, and who the order is for. A part that has
// not started says "Link sent" once the order went out (every member got a
// link), and the order's latest line shows only when it is about this
// member ("Leo: Said they have no income.").
func (r OrderRow) ForMember(m *store.OrderMember, names []string) OrderRow {
	r.ForMemberID = m.MemberID
	r.MemberName = m.Name
	switch {
	case m.Status == "" || m.Status == store.StatusCreated:
		if r.Status != store.StatusCreated && !r.Status.Final() {
			r.Status = store.StatusSent
		}
		r.Outcome = ""
	default:
		r.Status, r.Outcome = m.Status, m.Outcome
	}
	if !strings.HasPrefix(r.Detail, m.FirstName+":") {
		r.Detail = ""
	}
	r.Household = "For " + strings.Join(names, ", ")
	return r
}

// NewOrderRow builds a row. providerLabel names the provider for people.
func NewOrderRow(o *store.Order, providerLabel string, report, reportGone bool) OrderRow {
	return OrderRow{ID: o.ID, CaseID: o.CaseID, MemberName: o.MemberName, Provider: providerLabel,
		Products: ProductsLabel(o.Products), Status: o.Status, Outcome: o.Outcome, Detail: o.Detail,
		UpdatedAt: o.UpdatedAt, HasReport: report && !reportGone, ReportGone: reportGone, LinkExpires: o.LinkExpiresAt,
		Checking: o.Checking()}
}

// SSEName is the event name the live stream uses for this row.
func (r OrderRow) SSEName() string {
	if r.ForMemberID != 0 {
		return fmt.Sprintf("order-%d-member-%d", r.ID, r.ForMemberID)
	}
	return fmt.Sprintf("order-%d", r.ID)
}

// URL is the order page.
func (r OrderRow) URL() string { return fmt.Sprintf("/cases/%d/orders/%d", r.CaseID, r.ID) }

var productLabels = map[string]string{"income": "Income", "employment": "Employment", "assets": "Assets", "identity": "Identity"}

// ProductsLabel says "Income, Assets".
func ProductsLabel(ps []string) string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if l, ok := productLabels[p]; ok {
			out = append(out, l)
		} else {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

var statusLabels = map[store.OrderStatus]string{
	store.StatusCreated: "Created", store.StatusSent: "Link sent", store.StatusInProgress: "In progress",
	store.StatusActionRequired: "Action required", store.StatusCompleted: "Completed", store.StatusCanceled: "Canceled",
	store.StatusExpired: "Expired", store.StatusFailed: "Failed",
}

// StatusLabel names an order status for people.
func StatusLabel(s store.OrderStatus) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

var outcomeLabels = map[store.Outcome]string{
	store.OutcomeVerified: "data received", store.OutcomeNoData: "no data found", store.OutcomePass: "approved",
	store.OutcomeReview: "needs review", store.OutcomeFail: "rejected", store.OutcomeNoIncome: "no income",
	store.OutcomeNoBank: "no bank account", store.OutcomeSharedBank: "shares a bank account",
}

// OutcomeLabel names an outcome for people; an outcome the portal does not
// know (an adapter's own) reads as its words.
func OutcomeLabel(o store.Outcome) string {
	if l, ok := outcomeLabels[o]; ok {
		return l
	}
	return strings.ReplaceAll(string(o), "_", " ")
}

func orderTagClass(s store.OrderStatus) string { return "usa-tag cv-tag cv-tag--" + string(s) }

// outcomeClass colours a row and its tag by what the verification found: a
// rejected identity is not a success, a check that needs review needs action.
func (r OrderRow) tagClass() string {
	switch store.StandingOf(r.Status, r.Outcome) {
	case store.StandingRejected:
		return orderTagClass(store.StatusFailed)
	case store.StandingReview:
		return orderTagClass(store.StatusActionRequired)
	}
	return orderTagClass(r.Status)
}

// RollUp is the household summary line.
type RollUp struct {
	Total, Completed, Open, ActionRequired, Review, Rejected, Ended int
}

// NewRollUp counts a case's current orders (refreshed orders count once).
func NewRollUp(rows []OrderRow) RollUp {
	var r RollUp
	for _, o := range rows {
		r.Total++
		// The same rule as the case's stored status (store.RollUp).
		switch store.StandingOf(o.Status, o.Outcome) {
		case store.StandingReview:
			r.Review++
		case store.StandingRejected:
			r.Rejected++
		case store.StandingDone:
			r.Completed++
		case store.StandingActionRequired:
			r.ActionRequired++
			r.Open++
		case store.StandingEnded:
			r.Ended++
		default:
			r.Open++
		}
	}
	return r
}

// Sentence says "2 of 3 verifications completed, 1 needs action".
func (r RollUp) Sentence() string {
	if r.Total == 0 {
		return "No verifications sent yet."
	}
	s := fmt.Sprintf("%d of %s completed", r.Completed, Plural(r.Total, "verification", "verifications"))
	if r.ActionRequired > 0 {
		s += fmt.Sprintf(", %d %s action", r.ActionRequired, map[bool]string{true: "needs", false: "need"}[r.ActionRequired == 1])
	}
	if r.Open-r.ActionRequired > 0 {
		s += fmt.Sprintf(", %d in progress", r.Open-r.ActionRequired)
	}
	if r.Review > 0 {
		s += fmt.Sprintf(", %d %s review", r.Review, map[bool]string{true: "needs", false: "need"}[r.Review == 1])
	}
	if r.Rejected > 0 {
		s += fmt.Sprintf(", %d rejected", r.Rejected)
	}
	if r.Ended > 0 {
		s += fmt.Sprintf(", %d ended without a result", r.Ended)
	}
	return s + "."
}

// SendForm is the send-a-verification form's state.
type SendForm struct {
	CaseID     int64
	CaseNumber string
	Member     MemberView // masked
	Providers  []ProviderChoice
	Provider   string
	Products   []string
	Channel    string
	Employers  string // Truework's employers, as typed (the SSN is never kept)
	Problems   map[string]string
	Error      string // the provider's answer, in plain words
	// Details are the provider's problems with fields that are not on this
	// form (the member's details, the case number), in the form's order.
	Details []FieldProblem
}

// FieldProblem is a provider's problem with one field, labelled for people.
type FieldProblem struct {
	Field, Label, Message string
}

// memberFieldLabels are the member's fields a provider may refuse; the
// caseworker corrects them on the member's page.
var memberFieldLabels = map[string]string{
	"first_name": "First name", "last_name": "Last name", "email": "Email", "phone": "Mobile phone",
	"date_of_birth": "Date of birth", "ssn_last4": "SSN (last 4)",
}

// ProviderFieldProblems turns a provider's field problems that the send
// form cannot mark into labelled lines: member fields first, in a fixed
// order, then the others by name.
func ProviderFieldProblems(fields map[string]string) []FieldProblem {
	var out []FieldProblem
	for _, k := range []string{"first_name", "last_name", "email", "phone", "date_of_birth", "ssn_last4"} {
		if msg, ok := fields[k]; ok {
			out = append(out, FieldProblem{Field: k, Label: memberFieldLabels[k], Message: msg})
		}
	}
	var rest []string
	for k := range fields {
		if _, member := memberFieldLabels[k]; !member && !slices.Contains(SendFormOrder, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		label := strings.ReplaceAll(k, "_", " ")
		if k == "case_number" {
			label = "Case number"
		} else if label != "" {
			label = strings.ToUpper(label[:1]) + label[1:]
		}
		out = append(out, FieldProblem{Field: k, Label: label, Message: fields[k]})
	}
	return out
}

// DetailsOnMember says some of the provider's problems are with the
// member's own details.
func (f SendForm) DetailsOnMember() bool {
	for _, d := range f.Details {
		if _, ok := memberFieldLabels[d.Field]; ok {
			return true
		}
	}
	return false
}

// ProviderChoice is a provider offered on the send form.
type ProviderChoice struct {
	Name      string
	Label     string
	Products  []string
	CanNotify bool
	Sandbox   bool
	// SandboxHint says which test details the emulator accepts.
	SandboxHint string
	// FullSSN: the provider needs the full SSN, typed on the send form;
	// Employers: it takes the employers to verify.
	FullSSN   bool
	Employers bool
}

// SendFormOrder orders the fields for the error summary.
var SendFormOrder = []string{"provider", "products", "ssn", "channel"}

// Action is where the form posts.
func (f SendForm) Action() string {
	return fmt.Sprintf("/cases/%d/members/%d/orders", f.CaseID, f.Member.ID)
}

// OrderView is the order page's state.
type OrderView struct {
	Order      *store.Order
	CaseNumber string
	Row        OrderRow
	Provider   string
	Deliveries []*store.Delivery
	Events     []*store.Event
	ShowLink   bool // the link is shown (copy channel, contact center)
	HasEmail   bool
	HasPhone   bool
	CanNewLink bool // the link expired or the order ended without data
	// HasQR says a QR delivery with a tracked link exists: the QR page and
	// handout show it. Without one, the buttons POST to record one first
	// (a GET never creates a delivery).
	HasQR   bool
	Problem string // why the last action was refused
	// Widget holds the widget provider's actions (Truework: fresh applicant
	// page, reverify); nil for other providers. See widget.templ.
	Widget *WidgetActions
	// ConfirmCancel opens the cancel confirmation (a cancel POSTed without
	// confirming, or the page without JavaScript).
	ConfirmCancel bool
	// NewVerificationURL is the next step after a cancel: a new
	// verification like this one.
	NewVerificationURL string
	// CopyLink is the tracked link (/l/{code}) staff read out or paste;
	// "" when the link was shown before copy links were tracked.
	CopyLink string
}

// ShownLink is the link staff read out or paste: the portal's short
// tracked link, or the provider's for an older showing.
func (v OrderView) ShownLink() string {
	if v.CopyLink != "" {
		return v.CopyLink
	}
	return v.Order.Link
}

// ReadAloud writes a tracked link for reading out on a call: without the
// scheme, its code in groups of four ("verify.agency.gov/l/K7QM-2XPA-9FRT");
// the portal takes the code typed with or without the dashes, in any case.
// "" for a link that is not a tracked one.
func ReadAloud(link string) string {
	i := strings.LastIndex(link, "/l/")
	if i < 0 {
		return ""
	}
	host := link[:i]
	if j := strings.Index(host, "://"); j >= 0 {
		host = host[j+3:]
	}
	code := link[i+3:]
	var groups []string
	for len(code) > 4 {
		groups, code = append(groups, code[:4]), code[4:]
	}
	groups = append(groups, code)
	return host + "/l/" + strings.Join(groups, "-")
}

// Expired says the link's time is up.
func (v OrderView) Expired(now time.Time) bool {
	return !v.Order.LinkExpiresAt.IsZero() && !now.Before(v.Order.LinkExpiresAt)
}

// TimelineSource names an event's source for people.
func TimelineSource(s store.Source) string {
	switch s {
	case store.SourceWebhook:
		return "Provider"
	case store.SourcePoll:
		return "Provider (checked)"
	case store.SourceCaseworker:
		return "Staff"
	case store.SourceApplicant:
		return "Applicant"
	default:
		return "Portal"
	}
}

// ChannelLabel names a delivery channel.
func ChannelLabel(c string) string {
	switch c {
	case "email":
		return "Email"
	case "sms":
		return "Text message"
	case "qr":
		return "QR code"
	case "copy":
		return "Link shown"
	case "provider":
		return "Sent by the provider"
	}
	return c
}

// QRView is the full-screen QR page's state.
type QRView struct {
	CaseID, OrderID int64
	Lang            string // the member's preferred language: the applicant reads the page
	FirstName       string
	AgencyName      string
	Link            string
	Expires         time.Time
}

// Segment is a piece of message text: plain, or a link.
type Segment struct {
	Text string
	Link bool
}

// Linkify splits text so that http(s) URLs render as links.
func Linkify(text string) []Segment {
	var out []Segment
	for text != "" {
		i := strings.Index(text, "http://")
		if j := strings.Index(text, "https://"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			out = append(out, Segment{Text: text})
			break
		}
		if i > 0 {
			out = append(out, Segment{Text: text[:i]})
		}
		end := strings.IndexAny(text[i:], " \n\t")
		if end < 0 {
			end = len(text) - i
		}
		out = append(out, Segment{Text: text[i : i+end], Link: true})
		text = text[i+end:]
	}
	return out
}
