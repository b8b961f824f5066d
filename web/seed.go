package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"

	"caseverify/store"
	"caseverify/views"
)

// The sandbox's demo agency and accounts. They exist only in sandbox mode;
// outside it nobody gets a default password (see `web user create`).
const demoAgency = "Demo County Human Services"

var demoUsers = []struct {
	role     store.Role
	name     string
	email    string
	password string
}{
	{store.RoleAdmin, "Alex Admin", "admin@demo.caseverify.test", "demo-admin-2026"},
	{store.RoleSupervisor, "Sam Supervisor", "supervisor@demo.caseverify.test", "demo-supervisor-2026"},
	{store.RoleCaseworker, "Casey Worker", "caseworker@demo.caseverify.test", "demo-caseworker-2026"},
	{store.RoleAgent, "Ari Agent", "agent@demo.caseverify.test", "demo-agent-2026"},
}

// seedDemo creates the demo agency and users on first start.
func seedDemo(ctx context.Context, st *store.Store) ([]views.DemoAccount, error) {
	a, err := st.AgencyByName(ctx, demoAgency)
	if errors.Is(err, store.ErrNotFound) {
		// Two-step sign-in is required by default outside sandbox mode
		// only: the demo agency starts with it optional (an administrator
		// can turn it on to try it). The demo accounts skip it in sandbox
		// mode either way (handlers: mfaExempt).
		if a, err = st.CreateAgency(ctx, demoAgency); err == nil {
			err = st.SetMFARequired(ctx, a.ID, false)
		}
	}
	if err != nil {
		return nil, err
	}
	existing, err := st.Users(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var out []views.DemoAccount
	for _, u := range demoUsers {
		_, err := st.CreateUser(ctx, a.ID, store.NewUser{Email: u.email, Name: u.name, Role: u.role, Password: u.password,
			SkipPolicy: true}) // published passwords: the policy protects nothing here
		var problems store.ValidationError
		if err != nil && !(errors.As(err, &problems) && problems["email"] != "") {
			return nil, err
		}
		// A demo account retired by a start outside sandbox mode is the
		// sandbox's again, with the password the welcome message prints.
		for _, e := range existing {
			if e.Email == u.email && e.Disabled {
				if err := st.SetDemoPassword(ctx, a.ID, e.ID, u.password); err != nil {
					return nil, err
				}
				if err := st.SetUserDisabled(ctx, a.ID, e.ID, false); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, views.DemoAccount{Role: views.RoleLabel(u.role), Email: u.email, Password: u.password})
	}
	return out, nil
}

// retireDemo runs at every start outside sandbox mode. A database that was
// once a sandbox has the demo agency, whose accounts' passwords are
// published in this README: every account of that agency is disabled (which
// ends its sessions) and given a random password nobody knows, so the
// published passwords never work outside sandbox mode, even if an
// administrator enables the account again.
func retireDemo(ctx context.Context, st *store.Store, log *slog.Logger) error {
	a, err := st.AgencyByName(ctx, demoAgency)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	users, err := st.Users(ctx, a.ID)
	if err != nil {
		return err
	}
	retired := 0
	for _, u := range users {
		if !u.Disabled {
			retired++
		}
		if err := st.SetUserDisabled(ctx, a.ID, u.ID, true); err != nil {
			return err
		}
		if err := st.SetPassword(ctx, a.ID, u.ID, unknowablePassword()); err != nil {
			return err
		}
	}
	if retired > 0 {
		log.Warn("this database was run in sandbox mode: the demo agency's accounts are disabled outside it",
			"agency", demoAgency, "accounts", retired)
	}
	return nil
}

// unknowablePassword is 256 random bits that are never shown or kept.
func unknowablePassword() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
