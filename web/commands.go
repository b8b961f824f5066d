package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"caseverify/store"
)

// runCommand runs an administrative command instead of the server.
//
//	web user create --agency "County HSA" --email a@county.gov --name "A. Admin" --role admin
//	web migrate-to-postgres --from data/caseverify.db   (DATABASE_URL=postgres://…)
//
// The password is read from standard input (one line), so it never appears
// in the process list or shell history.
func runCommand(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) >= 2 && args[0] == "user" && args[1] == "create" {
		return userCreate(ctx, cfg, args[2:], stdin, stdout)
	}
	if len(args) >= 1 && args[0] == "migrate-to-postgres" {
		return migrateToPostgres(ctx, cfg, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q; the commands are: user create --agency NAME --email EMAIL --name NAME [--role admin|supervisor|caseworker|agent], and migrate-to-postgres --from SQLITE_FILE (into DATABASE_URL)", strings.Join(args, " "))
}

// migrateToPostgres copies a SQLite deployment into the empty PostgreSQL
// database DATABASE_URL names (store.CopyToPostgres), with the same
// DATA_KEY: the encrypted data is copied as stored.
func migrateToPostgres(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate-to-postgres", flag.ContinueOnError)
	fs.SetOutput(stdout)
	from := fs.String("from", "data/caseverify.db", "the SQLite database file to copy (the portal must be stopped)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !store.IsPostgres(cfg.DatabaseURL) {
		return errors.New("migrate-to-postgres copies into DATABASE_URL, which must be a postgres:// URL of an empty database")
	}
	if _, err := os.Stat(strings.TrimPrefix(*from, "file:")); err != nil {
		return fmt.Errorf("migrate-to-postgres: the SQLite file %s: %w", *from, err)
	}
	counts, err := store.CopyToPostgres(ctx, *from, cfg.DatabaseURL, cfg.storeOptions())
	if err != nil {
		return err
	}
	var total int64
	for _, c := range counts {
		total += c.Rows
		fmt.Fprintf(stdout, "%-28s %8d rows\n", c.Table, c.Rows)
	}
	fmt.Fprintf(stdout, "Copied %d rows in %d tables from %s; row counts match. Start the portal with this DATABASE_URL and the same DATA_KEY.\n", total, len(counts), *from)
	return nil
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
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.storeOptions())
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
