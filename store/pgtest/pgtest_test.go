package pgtest

import (
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// Each URL is its own empty database: what one test writes another does not see.
func TestURL_FreshDatabasePerCall(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	da := open(t, a)
	if _, err := da.Exec(`CREATE TABLE x (id BIGINT PRIMARY KEY); INSERT INTO x VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	db := open(t, b)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 'x'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database sees the first one's table (n=%d, err=%v)", n, err)
	}
	// The same URL opened twice is one database (two replicas).
	da2 := open(t, a)
	if err := da2.QueryRow(`SELECT count(*) FROM x`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("reopening the URL: n=%d err=%v", n, err)
	}
	var fsync string
	if err := da.QueryRow(`SHOW fsync`).Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync = %q (%v), want on as in production", fsync, err)
	}
}

// The database is dropped when its test ends, even with a store left open.
func TestURL_DroppedAtCleanup(t *testing.T) {
	var name string
	var leftOpen *sql.DB
	t.Run("inner", func(t *testing.T) {
		u := URL(t)
		leftOpen = open(t, u)
		leftOpen.SetMaxIdleConns(1)
		if err := leftOpen.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	c, err := start()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s still there after its test (n=%d, err=%v)", name, n, err)
	}
}

// A test process that dies without Stop leaves no server running, and the
// next start removes its directory.
func TestCrashedProcess_LeavesNoServer(t *testing.T) {
	if !Enabled() {
		t.Skip("PostgreSQL tests run with " + EnvVar + "=1 (make test does)")
	}
	if os.Getenv("PGTEST_CRASH_CHILD") == "1" {
		u := URL(t)
		_ = u
		c, _ := start()
		os.Stdout.WriteString("DIR=" + c.dir + " PID=" + strconv.Itoa(c.proc.Pid) + "\n")
		panic("crash on purpose")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashedProcess_LeavesNoServer$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_CRASH_CHILD=1")
	out, _ := cmd.CombinedOutput()
	var dir string
	var pid int
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "DIR="); ok {
			dir = v
		}
		if v, ok := strings.CutPrefix(f, "PID="); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if dir == "" || pid == 0 || !strings.Contains(string(out), "crash on purpose") {
		t.Fatalf("child did not start a cluster and panic:\n%s", out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(pid) && isPostgres(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postmaster %d still running after its test process panicked", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	reapStale()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale cluster directory %s not removed (%v)", dir, err)
	}
}

// Stop ends the server and removes its directory.
func TestStop_RemovesServer(t *testing.T) {
	_ = URL(t) // starts the cluster if it is not running
	c, _ := start()
	pid, dir := c.proc.Pid, c.dir
	Stop()
	if alive(pid) && isPostgres(pid) {
		t.Fatalf("postmaster %d still running after Stop", pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("cluster directory left after Stop: %v", err)
	}
	// A later URL starts a new cluster.
	if db := open(t, URL(t)); db.Ping() != nil {
		t.Fatal("no cluster after Stop and URL")
	}
}

func TestURL_SkipsWithoutEnv(t *testing.T) {
	t.Setenv(EnvVar, "")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		URL(t)
	})
	if !skipped {
		t.Fatal("URL did not skip without " + EnvVar)
	}
	if p := DatabaseURL(t, "x.db"); !strings.HasSuffix(p, "x.db") {
		t.Fatalf("DatabaseURL without %s = %q, want a SQLite file", EnvVar, p)
	}
}

func open(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
