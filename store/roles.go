package store

// Permission is one thing a staff user may do. Every staff route names the
// permission it needs (handlers/routes.go), and every page shows only what
// the user's role allows, so this table is the one place that says what a
// role means.
type Permission string

// The permissions.
const (
	// PermCaseList: the agency-wide case list and search.
	PermCaseList Permission = "case_list"
	// PermCaseOpen: create a case, find one by its exact number, read a case
	// page (details masked), add a member.
	PermCaseOpen Permission = "case_open"
	// PermCaseEdit: change a case, its notes and its members (the member form
	// shows the stored details, so it is a reveal too).
	PermCaseEdit Permission = "case_edit"
	// PermReveal: show a member's masked details (audited).
	PermReveal Permission = "reveal"
	// PermSend: send a verification, send it again or a new link, show the
	// QR code, and watch the status live.
	PermSend Permission = "send"
	// PermCancel: cancel a verification (at the provider too).
	PermCancel Permission = "cancel"
	// PermReports: read reports and download their PDFs (audited).
	PermReports Permission = "reports"
	// PermRenew: renewals, and a Truework reverification (a billed refresh).
	PermRenew Permission = "renew"
	// PermBulk: work on many cases at once: import cases and members from a
	// CSV file, and send verifications to many members in one run. Not for
	// contact-center agents, who work one call at a time without the case
	// list.
	PermBulk Permission = "bulk"
	// PermReassign: give a case to another worker.
	PermReassign Permission = "reassign"
	// PermAuditLog: the agency's audit log and each case's "Who looked at
	// this case".
	PermAuditLog Permission = "audit_log"
	// PermDashboard: the supervisor dashboard (the agency's turnaround,
	// completion and workload, and its CSV exports).
	PermDashboard Permission = "dashboard"
	// PermUsers: add, disable and enable users.
	PermUsers Permission = "users"
	// PermSettings: the agency's settings.
	PermSettings Permission = "settings"
)

// caseworkerPerms is what a caseworker does: all of their agency's casework.
var caseworkerPerms = []Permission{PermCaseList, PermCaseOpen, PermCaseEdit, PermReveal, PermSend, PermCancel,
	PermReports, PermRenew, PermBulk}

// rolePermissions is the table of what each role may do.
//
//   - A contact-center agent opens or finds a case by its exact number, adds
//     a member and sends and watches a verification: no agency-wide list or
//     search, no reveal of masked details (so no member edit form either), no
//     reports or PDFs, no renewals, no cancel, no CSV intake or bulk send.
//   - A supervisor does all a caseworker does, reads the agency's audit
//     log and dashboard, and reassigns cases.
//   - An administrator manages users and settings, and can do everything a
//     supervisor can: in a small agency the administrator is often the
//     supervisor, and an administrator could give themselves that role anyway.
var rolePermissions = map[Role]map[Permission]bool{
	RoleAgent:      set(PermCaseOpen, PermSend),
	RoleCaseworker: set(caseworkerPerms...),
	RoleSupervisor: set(append([]Permission{PermAuditLog, PermReassign, PermDashboard}, caseworkerPerms...)...),
	RoleAdmin: set(append([]Permission{PermAuditLog, PermReassign, PermDashboard, PermUsers, PermSettings},
		caseworkerPerms...)...),
}

func set(ps ...Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// Can reports whether the role includes p. An unknown role can do nothing.
func (r Role) Can(p Permission) bool { return rolePermissions[r][p] }

// Can reports whether u (nil: nobody signed in) may do p.
func (u *User) Can(p Permission) bool { return u != nil && u.Role.Can(p) }

// Home is where a role lands after signing in: the case list, or the
// contact-center screen for a role without it.
func (r Role) Home() string {
	if r.Can(PermCaseList) {
		return "/cases"
	}
	return "/contact"
}
