package truework

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// This file holds the adapter's view of Truework's 2023-10-30 wire format
// (spec.md §1.2–§1.6). The types decode only what the adapter uses and are
// tolerant where the sources disagree or are silent (numbers that may come as
// strings, hook ids that were strings in the legacy version), so that a
// harmless variation at Truework does not turn into a failed fetch.

// apiVersion is the Truework API version the adapter speaks, chosen with the
// Accept header [T01].
const apiVersion = "2023-10-30"

// acceptJSON is the Accept header for every JSON call.
const acceptJSON = "application/json; version=" + apiVersion

// companyInput is one employer to verify in a Truework Direct target.
type companyInput struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

// targetInput is one applicant in POST /orders/truework-direct
// (TrueworkDirectTargetInputV20231030).
type targetInput struct {
	FirstName          string            `json:"first_name"`
	LastName           string            `json:"last_name"`
	SSN                string            `json:"social_security_number"`
	ContactEmail       string            `json:"contact_email"`
	DateOfBirth        string            `json:"date_of_birth"`
	PermissiblePurpose string            `json:"permissible_purpose"`
	UseCase            string            `json:"use_case"`
	Type               string            `json:"type"`
	Companies          []companyInput    `json:"companies,omitempty"`
	PhoneNumber        string            `json:"phone_number,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

// directOrderInput is the body of POST /orders/truework-direct.
type directOrderInput struct {
	Targets   []targetInput `json:"targets"`
	SearchKey string        `json:"search_key,omitempty"`
}

// valueWrapper is Truework's {canonical_value, raw_value} pair used for
// states, reasons and enums.
type valueWrapper struct {
	Canonical string `json:"canonical_value"`
	Raw       string `json:"raw_value"`
}

// sessionTarget is the part of a Direct or reverification target that
// carries the widget session token.
type sessionTarget struct {
	SessionToken string `json:"truework_direct_session_token"`
}

// orderResource is OrderResponseResourceV20231030, reduced to what the
// adapter reads.
type orderResource struct {
	ID             string `json:"id"`
	SearchKey      string `json:"search_key"`
	TrueworkDirect *struct {
		Targets []sessionTarget `json:"targets"`
	} `json:"truework_direct"`
	SessionLink    *string `json:"truework_direct_session_link"`
	Reverification *struct {
		ParentOrderID string          `json:"parent_order_id"`
		Targets       []sessionTarget `json:"targets"`
	} `json:"reverification"`
	VerificationRequests []verificationResource `json:"verification_requests"`
}

// sessionTargets returns the targets that carry widget session tokens: the
// Direct targets, or for a reverification order its reverification targets.
func (o *orderResource) sessionTargets() []sessionTarget {
	if o.TrueworkDirect != nil && len(o.TrueworkDirect.Targets) > 0 {
		return o.TrueworkDirect.Targets
	}
	if o.Reverification != nil {
		return o.Reverification.Targets
	}
	return nil
}

// verificationResource is OrderVerificationResponseResourceV20231030,
// reduced.
type verificationResource struct {
	ID                 string        `json:"id"`
	Created            string        `json:"created"`
	DateOfCompletion   string        `json:"date_of_completion"`
	State              valueWrapper  `json:"state"`
	CancellationReason *valueWrapper `json:"cancellation_reason"`
	Reports            []reportRef   `json:"reports"`
}

// reportRef is one entry of verification_requests[].reports. The schema
// excerpt in the spec does not show its shape, so both a bare id string and
// an object with an "id" are accepted (INFERENCE).
type reportRef struct {
	ID string
}

// UnmarshalJSON implements json.Unmarshaler for both shapes.
func (r *reportRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.ID)
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	r.ID = obj.ID
	return nil
}

// orderList is the GET /orders page.
type orderList struct {
	Count   int             `json:"count"`
	Results []orderResource `json:"results"`
}

// errorBody is Truework's error shape, the same for every status [T01].
type errorBody struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// reportResource is OrderVerificationReportResourceV20231030 (§1.6),
// reduced to what the normalized Report needs.
type reportResource struct {
	ID        string `json:"id"`
	Created   string `json:"created"`
	Completed string `json:"completed"`
	Employer  *struct {
		Name string `json:"name"`
	} `json:"employer"`
	Employee *struct {
		Status          *valueWrapper `json:"status"`
		HiredDate       string        `json:"hired_date"`
		OriginalHired   string        `json:"original_hired_date"`
		TerminationDate string        `json:"termination_date"`
		Positions       []struct {
			Title     string `json:"title"`
			StartDate string `json:"start_date"`
			EndDate   string `json:"end_date"`
		} `json:"positions"`
		Salary *struct {
			PayFrequency *valueWrapper `json:"pay_frequency"`
			PayRate      *struct {
				Amount flexString    `json:"amount"`
				Unit   *valueWrapper `json:"unit"`
			} `json:"pay_rate"`
		} `json:"salary"`
		Earnings []struct {
			Year  flexString `json:"year"`
			Total flexString `json:"total"`
		} `json:"earnings"`
	} `json:"employee"`
	Paystubs []struct {
		PayDate     string     `json:"pay_date"`
		PeriodStart string     `json:"pay_period_start_date"`
		PeriodEnd   string     `json:"pay_period_end_date"`
		Hours       flexString `json:"pay_period_hours"`
		Gross       flexString `json:"gross"`
		Net         flexString `json:"net"`
	} `json:"paystubs"`
}

// flexString decodes a JSON string, number or null into its text. Truework
// sends amounts as strings [T01]; fields whose type the sources do not show
// (pay_rate.amount, pay_period_hours, year) are accepted either way.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
		return nil
	}
}

// Int returns the value as an integer, 0 when it is not one.
func (f flexString) Int() int {
	n, err := strconv.Atoi(string(f))
	if err != nil {
		return 0
	}
	return n
}

// Float returns the value as a float, 0 when it is not one.
func (f flexString) Float() float64 {
	n, err := strconv.ParseFloat(string(f), 64)
	if err != nil {
		return 0
	}
	return n
}

// webhookEnvelope is the 2023-10-30 webhook body [T05, T06, T07]. version,
// hook.id and hook.triggered_at are optional because the T17 example omits
// them.
type webhookEnvelope struct {
	Version string `json:"version"`
	Hook    struct {
		ID          flexString `json:"id"`
		Event       string     `json:"event"`
		Target      string     `json:"target"`
		TriggeredAt string     `json:"triggered_at"`
	} `json:"hook"`
	Data struct {
		OrderID               string `json:"order_id"`
		State                 string `json:"state"`
		VerificationRequestID string `json:"verification_request_id"`
	} `json:"data"`
}
