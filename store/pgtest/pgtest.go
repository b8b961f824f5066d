// Package pgtest gives tests a throwaway PostgreSQL (issue 18).
//
// With CASEVERIFY_TEST_POSTGRES=1 the first call to URL starts one private
// cluster for the test process (Debian's postgresql binaries, initdb into a
// temporary directory, a free port, its unix socket in that directory, fsync
// on as in production) and every call gets a fresh, empty database of its
// own, dropped when the test ends, so tests never share state. Without the
// variable URL skips the test and DatabaseURL names a SQLite file instead:
// the same tests then run on the default engine.
//
// The cluster goes away with the test process: Main stops it after the
// tests; if the process dies first (a panic, a timeout, kill -9) the
// postmaster gets SIGQUIT from the kernel (parent-death signal), and the
// next start removes what a dead run left behind (its owner pidfile).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "github.com/mattn/go-sqlite3"    // database/sql driver "sqlite3"
)

// EnvVar selects PostgreSQL for the tests when set to "1".
const EnvVar = "CASEVERIFY_TEST_POSTGRES"

// Enabled reports whether tests run on PostgreSQL.
func Enabled() bool { return os.Getenv(EnvVar) == "1" }

// URL returns a postgres:// URL of a new, empty database on the test
// cluster; the database is dropped when tb ends. The URL may be opened any
// number of times while tb runs (two stores on it are two replicas). It
// skips tb when EnvVar is unset and fails it when EnvVar is set but
// PostgreSQL cannot be started.
func URL(tb testing.TB) string {
	tb.Helper()
	if !Enabled() {
		tb.Skip("PostgreSQL tests run with " + EnvVar + "=1 (make test does)")
	}
	return NewDatabase(tb)
}

// NewDatabase is URL whatever EnvVar says: for `make bench`, which always
// measures both engines and so always starts the throwaway cluster.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	c, err := start()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	name, err := c.createDatabase()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		mu.Lock()
		gone := cur != c // Stop ran: the database went with its cluster
		mu.Unlock()
		if gone {
			return
		}
		if err := c.dropDatabase(name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c.url(name)
}

// DatabaseURL is the one switch for suites that run on both engines: a
// fresh PostgreSQL database (URL) when EnvVar=1, else a SQLite file named
// file in a temporary directory of tb.
func DatabaseURL(tb testing.TB, file string) string {
	tb.Helper()
	if Enabled() {
		return URL(tb)
	}
	return filepath.Join(tb.TempDir(), file)
}

// Main runs the tests and then stops the cluster; call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// With a prepare function (pgtest.Main(m, store.Migrate)), every database
// URL hands out is a copy of one database prepared once per test process
// (CREATE DATABASE ... TEMPLATE): the suites open hundreds of stores, and
// migrating each new database from scratch dominated the PostgreSQL pass.
// A copy of a migrated database is what store.Open would have made of an
// empty one.
func Main(m *testing.M, prepare ...func(ctx context.Context, url string) error) {
	if len(prepare) > 0 {
		mu.Lock()
		prepareTemplate = prepare[0]
		mu.Unlock()
	}
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop shuts the cluster down and removes its directory; a later URL starts
// a new one. Safe to call when nothing was started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if cur != nil {
		cur.stop()
		cur = nil
	}
	startErr = nil
}

var (
	mu       sync.Mutex
	cur      *cluster
	startErr error // a failed start is reported to every caller, not retried
	// prepareTemplate, when set by Main, makes the template database that
	// every test database copies (cluster.template).
	prepareTemplate func(ctx context.Context, url string) error
)

func start() (*cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	if cur != nil || startErr != nil {
		return cur, startErr
	}
	c, err := newCluster()
	if err != nil {
		startErr = err
		return nil, err
	}
	cur = c
	return c, nil
}

type cluster struct {
	dir     string // owned by the server's user: data/, the socket, owner.pid
	port    int
	user    string // the superuser name
	proc    *os.Process
	exited  chan struct{} // closed when the postmaster exits
	admin   *sql.DB       // to the "postgres" database, for CREATE/DROP DATABASE
	counter int
	cmu     sync.Mutex
	// tmpl is the prepared template database's name once made ("" when
	// there is no prepare function); tmplErr a failure to make it.
	tmplOnce sync.Once
	tmpl     string
	tmplErr  error
}

// binDir finds the server binaries: PG_BIN if set, else the newest
// /usr/lib/postgresql/<ver>/bin (Debian), else the directory of initdb on PATH.
func binDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(r), nil
		}
	}
	return "", errors.New(EnvVar + "=1 but no PostgreSQL server binaries were found (/usr/lib/postgresql/*/bin, PG_BIN or initdb on PATH): install Debian's postgresql package (make test-deps does)")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverUser is whom initdb and postgres run as: they refuse root, so as
// root they run as the "postgres" account the Debian package creates.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres account to run the server (Debian's postgresql package creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// root is where clusters live, one directory each, so that a later run can
// find and remove what a killed run left.
func root() string { return filepath.Join(os.TempDir(), "caseverify-pgtest") }

func newCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	reapStale()
	if err := os.MkdirAll(root(), 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(root(), "c")
	if err != nil {
		return nil, err
	}
	// The owner pidfile says which test process this cluster belongs to.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	c := &cluster{dir: dir, user: "postgres", exited: make(chan struct{})}
	fail := func(err error) (*cluster, error) {
		c.stop()
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", c.user, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-instructions",
		"--no-sync") // the server runs with fsync on; initdb's own sync of a throwaway directory only costs seconds
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, lastLines(out)))
	}
	// A port that was free a moment ago; a lost race shows as a failed
	// start, which is retried on another port.
	for attempt := 0; ; attempt++ {
		c.port, err = freePort()
		if err == nil {
			err = c.run(bin, cred)
		}
		if err == nil {
			break
		}
		if attempt == 2 {
			return fail(err)
		}
	}
	c.admin, err = sql.Open("pgx", c.url("postgres"))
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// run starts the postmaster and waits until it accepts connections.
func (c *cluster) run(bin string, cred *syscall.Credential) error {
	logPath := filepath.Join(c.dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(c.dir, "data"),
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.dir,
		"-c", "fsync=on",
		"-c", "max_connections=300", // suites open many stores, each a pool
		"-c", "shared_buffers=32MB", // several test binaries may each run one
		"-c", "dynamic_shared_memory_type=posix",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the test process dies without Stop (a panic, a
	// timeout, kill -9) the kernel sends the postmaster SIGQUIT (immediate
	// shutdown, its children follow). The signal is tied to the thread
	// that forks, so that thread stays locked for the server's lifetime.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the server
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited at start: %s", lastLines(b))
		default:
		}
		conn, err := net.DialTimeout("unix", filepath.Join(c.dir, ".s.PGSQL."+strconv.Itoa(c.port)), time.Second)
		if err == nil {
			conn.Close()
			db, err := sql.Open("pgx", c.url("postgres"))
			if err == nil {
				err = db.Ping()
				db.Close()
			}
			if err == nil {
				c.proc, c.exited = cmd.Process, exited
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			<-exited
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within 30s: %s", lastLines(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// url names database name on the cluster, through the unix socket.
func (c *cluster) url(name string) string {
	q := url.Values{"host": {c.dir}, "port": {strconv.Itoa(c.port)}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(c.user), Path: "/" + name, RawQuery: q.Encode()}).String()
}

func (c *cluster) createDatabase() (string, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.cmu.Lock()
	c.counter++
	name := fmt.Sprintf("t%d_%s", c.counter, hex.EncodeToString(b))
	c.cmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := c.template(ctx)
	if err != nil {
		return "", err
	}
	create := "CREATE DATABASE " + name
	if tmpl != "" {
		// Copies are made one at a time: PostgreSQL refuses to copy a
		// template another CREATE DATABASE is copying at that moment.
		create += " TEMPLATE " + tmpl
		c.cmu.Lock()
		defer c.cmu.Unlock()
	}
	if _, err := c.admin.ExecContext(ctx, create); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return name, nil
}

// template makes, once, the database every test database copies: an empty
// database the prepare function has migrated and closed (a template must
// have no open connection while it is copied).
func (c *cluster) template(ctx context.Context) (string, error) {
	mu.Lock()
	prepare := prepareTemplate
	mu.Unlock()
	if prepare == nil {
		return "", nil
	}
	c.tmplOnce.Do(func() {
		name := "tmpl_caseverify"
		if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			c.tmplErr = fmt.Errorf("create template database: %w", err)
			return
		}
		if err := prepare(ctx, c.url(name)); err != nil {
			c.tmplErr = fmt.Errorf("prepare template database: %w", err)
			return
		}
		c.tmpl = name
	})
	return c.tmpl, c.tmplErr
}

func (c *cluster) dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// FORCE: a store the test left open must not keep the database alive.
	if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// stop shuts the server down fast (SIGINT) and removes the directory.
func (c *cluster) stop() {
	if c.admin != nil {
		c.admin.Close()
	}
	if c.proc != nil {
		_ = c.proc.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.proc.Signal(syscall.SIGQUIT)
			select {
			case <-c.exited:
			case <-time.After(10 * time.Second):
				_ = c.proc.Kill()
				<-c.exited
			}
		}
	}
	_ = os.RemoveAll(c.dir)
}

// reapStale removes clusters whose test process is gone, stopping their
// postmaster first if the parent-death signal did not (or was never set up).
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(root(), "c*"))
	for _, d := range dirs {
		owner, err := readPid(filepath.Join(d, "owner.pid"))
		if err == nil && alive(owner) {
			continue // another test process is using it
		}
		if pm, err := readPid(filepath.Join(d, "data", "postmaster.pid")); err == nil && alive(pm) && isPostgres(pm) {
			_ = syscall.Kill(pm, syscall.SIGQUIT)
			for i := 0; i < 100 && alive(pm); i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if alive(pm) {
				_ = syscall.Kill(pm, syscall.SIGKILL)
			}
		}
		_ = os.RemoveAll(d)
	}
}

// readPid reads the first line of a pidfile (postmaster.pid has more).
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// isPostgres guards against a recycled pid: only a postgres process is
// signalled.
func isPostgres(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "postgres")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// Open opens the database at url, of either engine, for the checks a test
// makes that no store method exposes; it is closed when tb ends. Write its
// queries with ? placeholders and pass them through Q.
func Open(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	driver, dsn := "sqlite3", "file:"+url+"?_busy_timeout=5000"
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		driver, dsn = "pgx", url
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Q rebinds a query's ? placeholders to PostgreSQL's $1, $2, … when the
// tests run on PostgreSQL (test queries have no ? inside literals).
func Q(query string) string {
	if !Enabled() {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SkipOnPostgres skips a test about SQLite itself when the suite runs on
// PostgreSQL, saying why.
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if Enabled() {
		tb.Skip("SQLite only: " + why)
	}
}
