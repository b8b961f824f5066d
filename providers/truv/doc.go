// Package truv talks to Truv (https://truv.com) for the caseverify portal:
// an API adapter for Truv's hosted orders (create, status, VOIE/VOE and
// assets reports, PDF, order refresh, cancel), webhook authentication
// (X-WEBHOOK-SIGN, HMAC-SHA256 over the raw body) and parsing, the mapping of
// Truv's order, suborder and task statuses onto the portal's lifecycle, and
// an in-memory emulator of Truv's API and Bridge pages for sandbox mode and
// tests.
//
// Everything here is built from /work/shared/providers/spec.md section 2
// (Truv) and 7.2 (status mapping). Items the spec marks UNCONFIRMED are
// Config or EmulatorConfig fields with a default, and say so where declared.
//
// The package imports only caseverify/providers from this module and never
// logs personal data or webhook bodies.
package truv
