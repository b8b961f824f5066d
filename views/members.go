package views

import "time"

// MemberView is a household member as a page may show them. The handlers
// build it (handlers/viewmodel.go): names and labels as they are, the
// contact and identity details masked (handlers/mask) unless this viewer
// revealed them. A view never sees a stored detail it may not show, and
// never masks.
type MemberView struct {
	ID           int64
	CaseID       int64
	FirstName    string
	FullName     string
	Relationship string
	Language     string
	Primary      bool
	// Revealed says Email, Phone, DateOfBirth and SSNLast4 are the stored
	// values (formatted); otherwise they are masked.
	Revealed bool
	// What the page shows; "" means none on file.
	Email, Phone, DateOfBirth, SSNLast4 string
}

// OutboxMessage is a message in the sandbox's outbox as the page shows it:
// the recipient masked (the link in the body is what the page is for).
type OutboxMessage struct {
	Channel   string // email or sms
	To        string // masked
	Subject   string
	Body      string
	CreatedAt time.Time
}
