package handlers

import (
	"caseverify/handlers/mask"
	"caseverify/store"
	"caseverify/views"
)

// The view models the pages get: only what a page may show. Masking happens
// here (with handlers/mask), once, before a view sees a member; the views
// hold no stored PII and mask nothing.

// memberView is m as the page shows it: details masked unless revealed (the
// viewer asked, was allowed, and the reveal was audited).
func memberView(m *store.Member, revealed bool) views.MemberView {
	v := views.MemberView{ID: m.ID, CaseID: m.CaseID, FirstName: m.FirstName, FullName: m.FullName(), Relationship: m.Relationship,
		Language: m.Language, Primary: m.IsPrimary(), Revealed: revealed}
	if revealed {
		v.Email, v.Phone, v.DateOfBirth, v.SSNLast4 = m.Email, views.Phone(m.Phone), views.Date(m.DateOfBirth), m.SSNLast4
	} else {
		v.Email, v.Phone, v.DateOfBirth, v.SSNLast4 = mask.Email(m.Email), mask.Phone(m.Phone), mask.Date(m.DateOfBirth), mask.SSN4(m.SSNLast4)
	}
	return v
}

// memberViews shows ms masked, except the member whose id is revealed (0:
// none).
func memberViews(ms []*store.Member, revealed int64) []views.MemberView {
	out := make([]views.MemberView, len(ms))
	for i, m := range ms {
		out[i] = memberView(m, revealed != 0 && m.ID == revealed)
	}
	return out
}

// outboxMessages shows the outbox with each recipient masked.
func outboxMessages(ms []*store.OutboxMessage) []views.OutboxMessage {
	out := make([]views.OutboxMessage, len(ms))
	for i, m := range ms {
		to := mask.Email(m.To)
		if m.Channel == "sms" {
			to = mask.Phone(m.To)
		}
		out[i] = views.OutboxMessage{Channel: m.Channel, To: to, Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt}
	}
	return out
}

// renewalCases shows the cases due for renewal with their members masked.
func renewalCases(cs []*store.DueCase) []views.RenewalCase {
	out := make([]views.RenewalCase, len(cs))
	for i, dc := range cs {
		rc := views.RenewalCase{Case: dc.Case, Members: make([]views.RenewalMember, len(dc.Members))}
		for j, m := range dc.Members {
			rc.Members[j] = views.RenewalMember{Member: memberView(m.Member, false), Last: m.Last, Item: m.Item}
		}
		out[i] = rc
	}
	return out
}
