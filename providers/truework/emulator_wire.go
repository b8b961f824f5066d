package truework

import (
	"time"
)

// This file holds the JSON the emulator sends, in the full 2023-10-30 shape
// of spec.md §1.2–§1.6 (every documented key present, null where a Direct
// order has nothing). It is deliberately separate from the adapter's
// decode types in wire.go, so that the adapter is tested against the
// documented shape and not against its own structs.

// emValue is a {canonical_value, raw_value} pair.
type emValue struct {
	Canonical string `json:"canonical_value"`
	Raw       string `json:"raw_value"`
}

// emTargetOut is a Direct target in an order answer.
type emTargetOut struct {
	FirstName          string            `json:"first_name"`
	LastName           string            `json:"last_name"`
	SSN                string            `json:"social_security_number"` // masked
	ContactEmail       string            `json:"contact_email"`
	DateOfBirth        string            `json:"date_of_birth"`
	PhoneNumber        *string           `json:"phone_number"`
	PermissiblePurpose string            `json:"permissible_purpose"`
	UseCase            string            `json:"use_case"`
	Type               string            `json:"type"`
	Companies          []companyInput    `json:"companies"`
	Metadata           map[string]string `json:"metadata"`
	SessionToken       *string           `json:"truework_direct_session_token"`
	SessionLink        *string           `json:"truework_direct_session_link"`
}

// emReverTarget is a reverification target.
type emReverTarget struct {
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	SessionToken *string `json:"truework_direct_session_token"`
}

// emReportRef is an entry of verification_requests[].reports.
type emReportRef struct {
	ID string `json:"id"`
}

// emVROut is a verification request in an order answer.
type emVROut struct {
	ID                  string            `json:"id"`
	Created             string            `json:"created"`
	DateOfCompletion    *string           `json:"date_of_completion"`
	LoanID              *string           `json:"loan_id"`
	Metadata            map[string]string `json:"metadata"`
	Type                string            `json:"type"`
	PermissiblePurpose  emValue           `json:"permissible_purpose"`
	UseCase             emValue           `json:"use_case"`
	Target              map[string]any    `json:"target"`
	State               emValue           `json:"state"`
	CancellationReason  *emValue          `json:"cancellation_reason"`
	CancellationDetails *string           `json:"cancellation_details"`
	Reports             []emReportRef     `json:"reports"`
	Documents           []any             `json:"documents"`
	ApplicantDocuments  []any             `json:"applicant_documents"`
	Unverified          any               `json:"unverified_information"`
	Additional          any               `json:"additional_information"`
	TurnaroundTime      map[string]string `json:"turnaround_time"`
	Reseller            any               `json:"reseller_originating_party"`
}

// emOrderOut is OrderResponseResourceV20231030.
type emOrderOut struct {
	ID             string  `json:"id"`
	LoanID         *string `json:"loan_id"`
	SearchKey      *string `json:"search_key"`
	TrueworkDirect *struct {
		Targets []emTargetOut `json:"targets"`
	} `json:"truework_direct"`
	SessionLink    *string `json:"truework_direct_session_link"`
	TargetEmployer any     `json:"target_employer"`
	EmployerSearch any     `json:"employer_search"`
	Reverification *struct {
		ParentOrderID string          `json:"parent_order_id"`
		Targets       []emReverTarget `json:"targets"`
	} `json:"reverification"`
	VerificationRequests []emVROut `json:"verification_requests"`
}

// emListOut is the GET /orders page.
type emListOut struct {
	Count    int          `json:"count"`
	Next     *string      `json:"next"`
	Previous *string      `json:"previous"`
	Results  []emOrderOut `json:"results"`
}

// emCancelOut is the PUT /orders/{id}/cancel answer.
type emCancelOut struct {
	ID                   string          `json:"id"`
	LoanID               *string         `json:"loan_id"`
	VerificationRequests []emCancelVROut `json:"verification_requests"`
}

// emCancelVROut is a verification request in the cancel answer.
type emCancelVROut struct {
	ID                  string            `json:"id"`
	State               emValue           `json:"state"`
	CancellationReason  *emValue          `json:"cancellation_reason"`
	CancellationDetails *string           `json:"cancellation_details"`
	Created             string            `json:"created"`
	DateOfCompletion    *string           `json:"date_of_completion"`
	LoanID              *string           `json:"loan_id"`
	TurnaroundTime      map[string]string `json:"turnaround_time"`
}

// emEventOut is one entry of GET /orders/{id}/events. The event type
// values are UNCONFIRMED; the emulator writes "state-change".
type emEventOut struct {
	ID                    string `json:"id"`
	Created               string `json:"created"`
	Message               string `json:"message"`
	Strategy              string `json:"strategy"`
	Type                  string `json:"type"`
	VerificationRequestID string `json:"verification_request_id"`
}

// emReportOut is OrderVerificationReportResourceV20231030 (§1.6).
type emReportOut struct {
	ID                  string           `json:"id"`
	Created             string           `json:"created"`
	Completed           string           `json:"completed"`
	CurrentAsOf         string           `json:"current_as_of"`
	CompletedByMethod   string           `json:"completed_by_method"`
	VerificationRequest map[string]any   `json:"verification_request"`
	Employer            emEmployerOut    `json:"employer"`
	Employee            emEmployeeOut    `json:"employee"`
	Paystubs            []emPaystubOut   `json:"paystubs"`
	Accounts            []any            `json:"financial_institution_accounts"`
	IncomeAnalytics     any              `json:"income_analytics"`
	Eligibilities       []any            `json:"eligibilities"`
	Disputes            []any            `json:"disputes"`
	Annotations         any              `json:"annotations"`
	ApplicantDocuments  []any            `json:"applicant_documents"`
	AdditionalNotes     *string          `json:"additional_notes"`
	Respondent          *emRespondentOut `json:"respondent"`
}

// emEmployerOut is the report's employer.
type emEmployerOut struct {
	Name          string            `json:"name"`
	Address       map[string]string `json:"address"`
	GovernmentIDs []any             `json:"government_ids"`
}

// emEmployeeOut is the report's employee.
type emEmployeeOut struct {
	FirstName         string          `json:"first_name"`
	LastName          string          `json:"last_name"`
	Email             *string         `json:"email"`
	SSN               string          `json:"social_security_number"`
	Address           any             `json:"address"`
	Status            emValue         `json:"status"`
	StatusDetail      *emValue        `json:"status_detail"`
	HiredDate         string          `json:"hired_date"`
	OriginalHiredDate string          `json:"original_hired_date"`
	TerminationDate   *string         `json:"termination_date"`
	OnLeaveDate       *string         `json:"on_leave_date"`
	Positions         []emPositionOut `json:"positions"`
	Salary            *emSalaryOut    `json:"salary"`
	Earnings          []emEarningsOut `json:"earnings"`
}

// emPositionOut is one position.
type emPositionOut struct {
	Title          string  `json:"title"`
	StartDate      string  `json:"start_date"`
	EndDate        *string `json:"end_date"`
	EmploymentType emValue `json:"employment_type"`
}

// emSalaryOut is the employee's salary.
type emSalaryOut struct {
	PayFrequency emValue `json:"pay_frequency"`
	PayRate      struct {
		Amount string  `json:"amount"`
		Unit   emValue `json:"unit"`
	} `json:"pay_rate"`
	HoursPerWeek string `json:"hours_per_week"`
	ReducedCovid bool   `json:"reduced_covid"`
}

// emEarningsOut is one year of earnings; all amounts are strings [T01].
type emEarningsOut struct {
	Year       int    `json:"year"`
	Base       string `json:"base"`
	Overtime   string `json:"overtime"`
	Commission string `json:"commission"`
	Bonus      string `json:"bonus"`
	Other      string `json:"other"`
	Total      string `json:"total"`
}

// emPaystubOut is one paystub; amounts are strings.
type emPaystubOut struct {
	ID             string `json:"id"`
	ReferenceID    string `json:"reference_id"`
	PayDate        string `json:"pay_date"`
	PeriodStart    string `json:"pay_period_start_date"`
	PeriodEnd      string `json:"pay_period_end_date"`
	PayPeriodHours string `json:"pay_period_hours"`
	Gross          string `json:"gross"`
	Net            string `json:"net"`
	Base           string `json:"base"`
	Overtime       string `json:"overtime"`
	Commission     string `json:"commission"`
	Bonus          string `json:"bonus"`
	Other          string `json:"other"`
}

// emRespondentOut is who answered for the employer.
type emRespondentOut struct {
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Title    string `json:"title"`
}

// stamp formats a time as the RFC 3339 UTC timestamps of Truework examples.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// strPtr returns a pointer to s, or nil for "" (JSON null).
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
