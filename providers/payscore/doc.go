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
// used, and each one is a Config or EmulatorConfig field with a default:
//   - which key signs webhooks (Config.WebhookSecret, default SecretKey);
//   - the field of a screening that holds the applicant link
//     (Config.ApplicantURLField, default "applicant_url");
//   - the "Delete a Screening Group" method and path (Config.CancelMethod,
//     Config.CancelPath);
//   - the property and applicant field names of the legacy create call (the
//     newer applicant-group names are used);
//   - the error body shape (the emulator answers {"errors":[{"field","message"}]};
//     the client also reads {"message"} and {"error"});
//   - the report-data layout below the documented top-level fields.
//
// The newer applicant-group API (§3.2 "New") is not implemented: the legacy
// API is the one whose webhooks the vendor document describes.
package payscore
