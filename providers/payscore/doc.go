// Package payscore is the Payscore adapter: an API client for the legacy
// screening-group API (spec.md §3), webhook authentication and parsing for
// every legacy webhook code (payscore-webhooks.txt), the status mapping of
// spec.md §7.3, and an in-memory emulator of Payscore's API and
// hosted applicant pages for sandbox mode and tests.
//
// Payscore verifies a whole household at once: one screening group per
// order, one screening per household member. The portal's order id is the
// screening group id and each member's sub-item id is the screening id.
//
// Facts the vendor documents leave open are marked UNCONFIRMED where they are
// used. The paths and field names among them live in Contract (overridable
// without a release, PAYSCORE_CONTRACT): the list ("Get All Screening
// Groups") and delete paths, the applicant and property field names of the
// legacy create call, an applicant-link field (none by default), the
// IncomeData amount field and the money units. Others are Config fields:
// which key signs webhooks (Config.WebhookSecret, default SecretKey). Still
// fixed in code: the error body shape (the emulator answers
// {"errors":[{"field","message"}]}; the client also reads {"message"} and
// {"error"}) and the report-data layout below the documented top-level fields.
//
// The newer applicant-group API (§3.2 "New") is not implemented: the legacy
// API is the one whose webhooks the vendor document describes.
package payscore
