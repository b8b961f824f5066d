package main

import (
	"context"
	"errors"

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
		a, err = st.CreateAgency(ctx, demoAgency)
	}
	if err != nil {
		return nil, err
	}
	var out []views.DemoAccount
	for _, u := range demoUsers {
		_, err := st.CreateUser(ctx, a.ID, store.NewUser{Email: u.email, Name: u.name, Role: u.role, Password: u.password})
		var problems store.ValidationError
		if err != nil && !(errors.As(err, &problems) && problems["email"] != "") {
			return nil, err
		}
		out = append(out, views.DemoAccount{Role: views.RoleLabel(u.role), Email: u.email, Password: u.password})
	}
	return out, nil
}
