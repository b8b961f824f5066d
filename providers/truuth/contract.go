package truuth

import (
	"net/url"
	"strings"
)

// Contract holds every path and JSON field name of Truuth's REST API and
// webhook payloads that this package uses, in one place.
//
// Almost all of it is UNCONFIRMED (spec.md §5.1, §8.5): Truuth names its KYC
// APIs (Create / Send / Resend Verification Invite, Get Verification Report)
// but no readable public source gives their paths or fields, and the callback
// field names come from a third party's receiver (R03). The defaults below are
// our best reading; when the real contract is known, override the differing
// fields through Config.Contract (and EmulatorConfig.Contract) instead of
// editing code. Both the adapter and the emulator read this struct, so they
// always agree with each other.
//
// Paths are relative to Config.BaseURL and may contain the placeholders
// {tenant} (the tenant alias) and {verificationId}. They double as Go 1.22
// http.ServeMux patterns in the emulator, so keep them valid patterns.
//
// Dotted field names ("results.proofingOutcomes") walk nested objects.
// Zero fields of an override are filled from DefaultContract.
type Contract struct {
	// CreateInvitePath is Create Verification Invite (POST, JSON body).
	CreateInvitePath string
	// LookupPath finds a verification by externalRefId (GET), used to stay
	// idempotent when a create timed out. Whether Truuth has such a call is
	// UNCONFIRMED; Config.DisableLookup turns it off.
	LookupPath string
	// LookupQueryParam is the query parameter LookupPath takes the reference in.
	LookupQueryParam string
	// SendInvitePath is Send Verification Invite (POST): Truuth emails the link.
	SendInvitePath string
	// ResendInvitePath is Resend Verification Invite (POST).
	ResendInvitePath string
	// ResultPath reads a verification's status and proofing outcomes (GET).
	ResultPath string
	// ReportPath is Get Verification Report (GET): answers with a pre-signed
	// URL to the base64 PDF (R01).
	ReportPath string

	// Request fields of Create Verification Invite (names as in the KYC Web
	// SDK init config, R04). They also name the identityOwner sub-fields.
	GivenNameField   string
	FamilyNameField  string
	EmailField       string
	MobileField      string
	DateOfBirthField string // value YYYY-MM-DD
	ExternalRefField string // the portal's order reference (idempotency key)

	// Response fields.
	VerificationIDField string
	InviteURLField      string
	QRCodeField         string // a data: URI PNG; the portal draws its own QR
	ExpiresAtField      string // RFC 3339; optional
	TenantField         string // tenant alias echoed back
	RegionField         string // region echoed back
	StatusField         string // DONE | IN_PROGRESS | PROCESSING | ERROR (R03)
	IdentityOwnerField  string // PII of the applicant: never logged or shown
	OutcomesPath        string // list of proofing outcomes, one per check (R03)
	// CheckNameFields are tried in order for a check's name; R03 shows only
	// the status field of a proofing outcome, so the name field is a guess.
	CheckNameFields  []string
	CheckResultField string // Pass | Warning | Fail (R02)
	ReportURLField   string // the pre-signed URL in the Get Verification Report answer

	// StatusEnumPrefix is stripped from status values: R03 shows proto enums
	// such as VERIFICATION_STATUS_DONE for what is presumably DONE.
	StatusEnumPrefix string

	// EventTypeField, when present in a webhook body that came to the bare
	// /webhooks/truuth URL, decides the event: a value containing "biopass"
	// (any case, spaces ignored) is Biopass User Provisioning, anything else
	// a Callback. Truuth sends one event type per webhook subscription
	// (S04), so the URL (/webhooks/truuth/callback, .../biopass) is the
	// reliable way; the body's shape never decides. Whether Truuth's bodies
	// carry a type field, and its name and values, is UNCONFIRMED.
	EventTypeField string
	// BiopassField holds the provisioned user in the emulator's Biopass
	// body. Truuth's payload is undocumented; the adapter reads nothing from
	// it but the verification id.
	BiopassField string

	// Error bodies: shape UNCONFIRMED. The first of ErrorMessageFields found
	// is the provider's message; ErrorFieldsField is a list of
	// {ErrorFieldNameField, ErrorFieldMessageField} objects or an object
	// mapping field to message.
	ErrorMessageFields     []string
	ErrorCodeField         string
	ErrorFieldsField       string
	ErrorFieldNameField    string
	ErrorFieldMessageField string
}

// Placeholders that Contract paths may contain.
const (
	placeholderTenant       = "{tenant}"
	placeholderVerification = "{verificationId}"
)

// DefaultContract returns the contract this package assumes, all of it
// UNCONFIRMED except where a field comment cites a source.
func DefaultContract() Contract {
	const v = "/v1/tenants/{tenant}/verifications"
	return Contract{
		CreateInvitePath: v + "/invites",
		LookupPath:       v,
		LookupQueryParam: "externalRefId",
		SendInvitePath:   v + "/{verificationId}/invite/send",
		ResendInvitePath: v + "/{verificationId}/invite/resend",
		ResultPath:       v + "/{verificationId}/result",
		ReportPath:       v + "/{verificationId}/report",

		GivenNameField:   "givenName",
		FamilyNameField:  "familyName",
		EmailField:       "email",
		MobileField:      "mobileNumber",
		DateOfBirthField: "dateOfBirth",
		ExternalRefField: "externalRefId",

		VerificationIDField: "verificationId",
		InviteURLField:      "inviteUrl",
		QRCodeField:         "qrCode",
		ExpiresAtField:      "expiresAt",
		TenantField:         "tenantAlias",
		RegionField:         "region",
		StatusField:         "status",
		IdentityOwnerField:  "identityOwner",
		OutcomesPath:        "results.proofingOutcomes",
		CheckNameFields:     []string{"name", "type", "proofingType"},
		CheckResultField:    "status",
		ReportURLField:      "url",

		StatusEnumPrefix: "VERIFICATION_STATUS_",

		EventTypeField: "eventType",
		BiopassField:   "biopass",

		ErrorMessageFields:     []string{"message", "error"},
		ErrorCodeField:         "code",
		ErrorFieldsField:       "errors",
		ErrorFieldNameField:    "field",
		ErrorFieldMessageField: "message",
	}
}

// path fills the placeholders of p. Values are path-escaped, so an id can
// never add a path segment.
func (c Contract) path(p, tenant, verificationID string) string {
	p = strings.ReplaceAll(p, placeholderTenant, url.PathEscape(tenant))
	return strings.ReplaceAll(p, placeholderVerification, url.PathEscape(verificationID))
}
