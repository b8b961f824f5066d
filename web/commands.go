package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"caseverify/store"
)

// runCommand runs an administrative command instead of the server.
//
//	web user create --agency "County HSA" --email a@county.gov --name "A. Admin" --role admin
//
// The password is read from standard input (one line), so it never appears
// in the process list or shell history.
func runCommand(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) >= 2 && args[0] == "user" && args[1] == "create" {
		return userCreate(ctx, cfg, args[2:], stdin, stdout)
	}
	return fmt.Errorf("unknown command %q; the only command is: user create --agency NAME --email EMAIL --name NAME [--role admin|supervisor|caseworker|agent]", strings.Join(args, " "))
}

func userCreate(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stdout)
	agency := fs.String("agency", "", "agency name (created if it does not exist)")
	email := fs.String("email", "", "work email (the sign-in name)")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "admin", "admin, supervisor, caseworker or agent")
	admin := fs.Bool("admin", false, "shorthand for --role admin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin {
		*role = string(store.RoleAdmin)
	}
	if *agency == "" || *email == "" || *name == "" {
		return errors.New("user create needs --agency, --email and --name")
	}
	if !cfg.Sandbox && strings.EqualFold(strings.TrimSpace(*agency), demoAgency) {
		// Its accounts are disabled at every start outside sandbox mode.
		return fmt.Errorf("%q is the sandbox's demo agency; choose your agency's own name", demoAgency)
	}
	fmt.Fprint(stdout, "Password (one line, at least 15 characters): ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{DataKey: cfg.DataKey, Wait: cfg.DBWait})
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.AgencyByName(ctx, *agency)
	if errors.Is(err, store.ErrNotFound) {
		a, err = st.CreateAgency(ctx, *agency)
	}
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, a.ID, store.NewUser{Email: *email, Name: *name, Role: store.Role(*role), Password: password})
	var problems store.ValidationError
	if errors.As(err, &problems) {
		var msgs []string
		for _, m := range problems {
			msgs = append(msgs, m)
		}
		return errors.New(strings.Join(msgs, " "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nCreated %s (%s) in %s. They can sign in at %s/login\n", u.Name, u.Role, a.Name, cfg.BaseURL)
	return nil
}
