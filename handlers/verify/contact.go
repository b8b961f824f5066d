package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// contactCollects are the member details the contact-center form asks for.
var contactCollects = []string{"first_name", "last_name", "phone"}

// ContactFits reports whether a provider works from the contact-center form,
// which asks for a name and a mobile number only: not a widget provider (its
// applicant flow is a page the portal hosts, not a hosted link), nor one
// that needs a detail the form does not ask for (AccountChek needs the email
// and the last 4 of the SSN, Truework the full SSN; Provider.Needs).
func (s *Service) ContactFits(name string) bool {
	p := s.Provider(name)
	return p != nil && !s.IsWidget(p.Name) && CollectsAll(p, contactCollects...)
}

// ContactRequest is an agent's one-step send on a call: the caller's name
// and mobile number, the case number if they have one, what to verify.
type ContactRequest struct {
	User                             *store.User
	FirstName, LastName, Phone, Lang string
	CaseNumber                       string // "": a new case with a generated number
	Provider                         string
	Products                         []string
}

// ContactSend opens or finds the case, adds the member (or finds them: same
// name, number and language), creates the order and texts the link, in one
// step, and leaves nothing behind when the send fails. The order is returned
// whenever it exists, also with a *DeliveryError when the text was not sent;
// a store.ValidationError names the fields to correct.
//
// Why undo rather than one transaction or validation alone: the provider's
// refusal is only known after calling it, and the call needs the case and
// member rows (the order row points at them, the provider gets the member's
// reference). Holding SQLite's single write transaction open across a
// provider call of several seconds would stall every other writer, and
// checking first cannot foresee a refusal. So everything that can be
// checked is checked before anything is created (a typo creates nothing),
// and when the send then fails, what this request created is removed
// again. The removals are guarded in the store (a member with an order, a
// case with members, orders or notes is kept), so an order the provider did
// accept is never orphaned by the undo.
func (s *Service) ContactSend(ctx context.Context, r ContactRequest) (*store.Order, *store.Member, error) {
	u := r.User
	// Check the caller's details first, so that nothing is created for a typo.
	problems := store.ValidationError{}
	if strings.TrimSpace(r.Phone) == "" {
		problems["phone"] = "Enter the mobile number the link goes to."
	}
	p := s.Provider(r.Provider)
	if !s.ContactFits(r.Provider) {
		problems["provider"] = "Choose a provider."
	}
	if len(r.Products) == 0 {
		problems["products"] = "Choose what to verify."
	} else if p != nil {
		for _, prod := range r.Products {
			if !slices.Contains(p.Verifier.Products(), providers.Product(prod)) {
				problems["products"] = fmt.Sprintf("%s cannot verify %s.", p.Label, prod)
			}
		}
	}
	in := store.MemberInput{FirstName: r.FirstName, LastName: r.LastName, Relationship: "self", Phone: r.Phone, Language: r.Lang}
	for k, v := range s.store.CheckMember(in) {
		problems[k] = v
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	settings, err := s.store.Settings(ctx, u.AgencyID)
	if err != nil {
		return nil, nil, err
	}
	cs, caseCreated, err := s.contactCase(ctx, u, r.CaseNumber, settings.DefaultProgram)
	if err != nil {
		return nil, nil, err
	}
	m, memberAdded, err := s.contactMember(ctx, u, cs.ID, in)
	if err != nil {
		s.undoContact(ctx, u.AgencyID, cs.ID, 0, caseCreated)
		return nil, nil, err
	}
	o, err := s.Send(ctx, SendRequest{User: u, CaseID: cs.ID, MemberID: m.ID, Provider: r.Provider,
		Products: r.Products, Channel: ChannelSMS})
	if err != nil && o == nil {
		// No order exists: the send failed as a whole, so undo the rest.
		var added int64
		if memberAdded {
			added = m.ID
		}
		s.undoContact(ctx, u.AgencyID, cs.ID, added, caseCreated)
	}
	return o, m, err
}

// contactCase finds the case by its exact number, or opens one (with a
// generated number when none was given). created says it was opened here,
// so a failed send may remove it again.
func (s *Service) contactCase(ctx context.Context, u *store.User, number, program string) (cs *store.Case, created bool, err error) {
	if number != "" {
		cs, err := s.store.CaseByNumber(ctx, u.AgencyID, number)
		if err == nil {
			return cs, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
	} else {
		number = "CC-" + time.Now().Format("20060102") + "-" + strings.TrimPrefix(store.NewOrderReference(), "CV-")[:6]
	}
	cs, err = s.store.CreateCase(ctx, u.AgencyID, u.ID, store.CaseInput{Number: number, Program: program, AssignedUserID: u.ID})
	var vp store.ValidationError
	if errors.As(err, &vp) && vp["case_number"] != "" {
		// Another agent opened the same number since the lookup: use it.
		if found, lerr := s.store.CaseByNumber(ctx, u.AgencyID, number); lerr == nil {
			return found, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return cs, true, nil
}

// contactMember returns the case's member who is this caller (same name,
// mobile number and language), so a second call about the same person does
// not add them twice, or adds them. added says the member is new.
func (s *Service) contactMember(ctx context.Context, u *store.User, caseID int64, in store.MemberInput) (*store.Member, bool, error) {
	ms, err := s.store.Members(ctx, u.AgencyID, caseID)
	if err != nil {
		return nil, false, err
	}
	phone, _ := store.NormalizePhone(in.Phone) // checked before
	lang := cmp.Or(in.Language, "en")          // as the store defaults it
	same := func(a, b string) bool {
		return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
	}
	for _, m := range ms {
		if phone != "" && m.Phone == phone && same(m.FirstName, in.FirstName) && same(m.LastName, in.LastName) && m.Language == lang {
			return m, false, nil
		}
	}
	m, err := s.store.AddMember(ctx, u.AgencyID, caseID, in)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// undoContact removes the member (memberID, 0 for none) and the case (when
// caseCreated) that ContactSend made for a send that then failed. It runs
// even when the agent's request was cancelled. The store refuses to remove
// anything that has gained history; that is logged and kept.
func (s *Service) undoContact(ctx context.Context, agencyID, caseID, memberID int64, caseCreated bool) {
	ctx = context.WithoutCancel(ctx)
	if memberID != 0 {
		if err := s.store.RemoveMember(ctx, agencyID, caseID, memberID); err != nil {
			s.log.Error("contact center: undo member", "case_id", caseID, "member_id", memberID, "error", err)
			return // the case still holds the member
		}
	}
	if caseCreated {
		if err := s.store.DeleteEmptyCase(ctx, agencyID, caseID); err != nil {
			s.log.Error("contact center: undo case", "case_id", caseID, "error", err)
		}
	}
}

// contactStore is what contact.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type contactStore interface {
	AddMember(ctx context.Context, agencyID, caseID int64, in store.MemberInput) (*store.Member, error)
	CaseByNumber(ctx context.Context, agencyID int64, number string) (*store.Case, error)
	CheckMember(in store.MemberInput) store.ValidationError
	CreateCase(ctx context.Context, agencyID, createdBy int64, in store.CaseInput) (*store.Case, error)
	DeleteEmptyCase(ctx context.Context, agencyID, caseID int64) error
	Members(ctx context.Context, agencyID, caseID int64) ([]*store.Member, error)
	RemoveMember(ctx context.Context, agencyID, caseID, memberID int64) error
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
}
