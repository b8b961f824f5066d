package main

// `make bench`: the performance goals of issue 17, measured against a
// running portal (the same serve() as `make run`) over real HTTP, next to a
// bare Echo server in the same run, and printed as a table. Timings live
// here and never in `make test`: BenchmarkGoals only runs with -bench.
//
// Method: the 100,000-member / 30,000-case data set (one agency) is built
// once through the store API and cached (os.UserCacheDir()/caseverify-bench);
// every run copies it to a temporary folder and starts the portal on it.
// Each goal is measured benchRounds times; the table gives min/median/max
// of those rounds, the goal, the median's ratio to the goal, and pass/fail.
// The webhook rounds interleave the portal and the bare Echo server, so a
// loaded machine slows both and the ratio stays meaningful.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
)

const (
	benchCases    = 30_000
	benchMembers  = 100_000
	benchRounds   = 3
	benchSeedName = "seed-v1" // change when the data set's shape changes
	benchSecret   = "bench-truv-access-secret"
)

// benchSurnames: a few common last names shared by thousands of members and
// many rare ones (one member each), so name search is measured both ways.
var benchSurnames = []string{"Garcia", "Smith", "Johnson", "Nguyen", "Williams", "Brown", "Jones", "Miller"}

func benchMember(i int) store.MemberInput {
	last := benchSurnames[i%len(benchSurnames)]
	if i%10 == 0 {
		last = fmt.Sprintf("Rare%06d", i) // 10,000 rare names
	}
	return store.MemberInput{FirstName: fmt.Sprintf("Pat%d", i), LastName: last, Relationship: "other",
		Email: fmt.Sprintf("member%d@example.org", i), Phone: fmt.Sprintf("+1555%07d", i)}
}

func benchCaseNumber(i int) string { return fmt.Sprintf("BN-%06d", i) }

// benchSeed returns a folder holding the seeded database and its sandbox
// keys, building it on the first run.
func benchSeed(b *testing.B) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "caseverify-bench", benchSeedName)
	if _, err := os.Stat(filepath.Join(dir, "caseverify.db")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		b.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "building-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	vars := map[string]string{"DATABASE_URL": filepath.Join(tmp, "caseverify.db"), "SANDBOX": "true", "ADDR": "127.0.0.1:0"}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{DataKey: cfg.DataKey, Unsynced: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := seedDemo(ctx, st); err != nil {
		b.Fatal(err)
	}
	a, err := st.AgencyByName(ctx, demoAgency)
	if err != nil {
		b.Fatal(err)
	}
	users, err := st.Users(ctx, a.ID)
	if err != nil {
		b.Fatal(err)
	}
	m := 0
	for i := range benchCases {
		c, err := st.CreateCase(ctx, a.ID, users[0].ID, store.CaseInput{Number: benchCaseNumber(i), Program: "snap",
			AssignedUserID: users[i%len(users)].ID})
		if err != nil {
			b.Fatal(err)
		}
		n := 3
		if i < benchMembers-3*benchCases {
			n = 4
		}
		for range n {
			if _, err := st.AddMember(ctx, a.ID, c.ID, benchMember(m)); err != nil {
				b.Fatal(err)
			}
			m++
		}
		if i%5000 == 4999 {
			fmt.Fprintf(os.Stderr, "seeding: %d cases, %d members (%s)\n", i+1, m, time.Since(start).Round(time.Second))
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	os.Remove(filepath.Join(tmp, "caseverify.db-wal"))
	os.Remove(filepath.Join(tmp, "caseverify.db-shm"))
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "seeded %d cases, %d members in %s (cached in %s)\n", benchCases, m, time.Since(start).Round(time.Second), dir)
	return dir
}

// The engines make bench measures, each on the same data set: SQLite (the
// embedded default) and PostgreSQL (the scale-out engine, issue 18) on a
// throwaway cluster (store/pgtest: Debian's postgresql binaries, which
// `make bench` installs like `make test` does, fsync on). BENCH_ENGINE=sqlite
// or postgres measures one.
const (
	engineSQLite   = "SQLite"
	enginePostgres = "PostgreSQL"
)

func benchEngines() []string {
	switch strings.ToLower(os.Getenv("BENCH_ENGINE")) {
	case "sqlite":
		return []string{engineSQLite}
	case "postgres", "postgresql":
		return []string{enginePostgres}
	}
	return []string{engineSQLite, enginePostgres}
}

// benchPortal starts the portal on a copy of the seeded data set, with
// Truv configured as a real provider whose webhooks the bench can sign. On
// PostgreSQL the copy is the cached SQLite data set moved into a fresh
// database of the throwaway cluster by store.CopyToPostgres (what
// `caseverify migrate-to-postgres` does), once per run; the cluster cannot
// outlive the run, so there is nothing more to cache. stop ends the portal
// (its background work included) before the next engine is measured.
func benchPortal(b *testing.B, engine string) (p *portal, stop func()) {
	seed := benchSeed(b)
	dir := b.TempDir()
	keys := map[string]string{}
	for _, f := range []string{"caseverify.db", "data.key", "session.key", "sandbox.key"} {
		data, err := os.ReadFile(filepath.Join(seed, f))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			b.Fatal(err)
		}
		keys[f] = strings.TrimSpace(string(data))
	}
	vars := map[string]string{
		"ADDR": "127.0.0.1:0", "DATABASE_URL": filepath.Join(dir, "caseverify.db"), "SANDBOX": "true",
		"LOG_LEVEL": "error", "SANDBOX_DELAY": "0",
		// Truv as a configured provider: the bench signs with its secret.
		// The API is never called for these deliveries (no such orders).
		"TRUV_BASE_URL": "http://127.0.0.1:9", "TRUV_CLIENT_ID": "bench", "TRUV_ACCESS_SECRET": benchSecret,
	}
	if engine == enginePostgres {
		// The data set's keys go by setting: on PostgreSQL sandbox mode
		// would look for key files in data/.
		vars["SESSION_KEY"], vars["DATA_KEY"], vars["SANDBOX_KEY"] = keys["session.key"], keys["data.key"], keys["sandbox.key"]
		cfg, err := loadConfig(func(k string) string { return vars[k] })
		if err != nil {
			b.Fatal(err)
		}
		url := pgtest.NewDatabase(b)
		start := time.Now()
		if _, err := store.CopyToPostgres(context.Background(), vars["DATABASE_URL"], url, cfg.storeOptions()); err != nil {
			b.Fatalf("copy the data set to PostgreSQL: %v", err)
		}
		fmt.Fprintf(os.Stderr, "data set copied to PostgreSQL in %s\n", time.Since(start).Round(time.Second))
		vars["DATABASE_URL"] = url
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p = &portal{Dir: dir, logs: &syncBuffer{}, vars: vars, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() { p.done <- serve(ctx, cfg, func(k string) string { return vars[k] }, io.Discard, p.logs, ready) }()
	select {
	case addr := <-ready:
		p.URL = "http://" + addr
	case err := <-p.done:
		b.Fatalf("portal did not start: %v", err)
	case <-time.After(2 * time.Minute):
		b.Fatal("portal did not start within 2m")
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-p.done }) }
	b.Cleanup(stop)
	return p, stop
}

// benchReplica starts a second portal with p's settings (its own
// address): on PostgreSQL, another replica of the same deployment. It
// stops when the bench ends.
func benchReplica(b *testing.B, p *portal) string {
	cfg, err := loadConfig(func(k string) string { return p.vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan string, 1)
	go func() {
		done <- serve(ctx, cfg, func(k string) string { return p.vars[k] }, io.Discard, &syncBuffer{}, ready)
	}()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-done:
		b.Fatalf("replica B did not start: %v", err)
	case <-time.After(2 * time.Minute):
		b.Fatal("replica B did not start within 2m")
	}
	return ""
}

// bareEcho is the reference: an Echo server that reads and decodes the same
// webhook body and answers 200, with no authentication and no database.
func bareEcho(b *testing.B) string {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/webhooks/:provider", func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest)
		}
		return c.String(http.StatusOK, "ok")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: e}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// load is one closed-loop load run: conc workers each send a request and
// wait for the answer, for dur (or n requests in all when n > 0).
type loadResult struct {
	ok, failed int
	rps        float64
	lat        []time.Duration // sorted
}

func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

func runLoad(conc int, dur time.Duration, n int, do func(worker, i int) error) loadResult {
	var mu sync.Mutex
	var res loadResult
	var next atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			var lat []time.Duration
			ok, failed := 0, 0
			for {
				i := int(next.Add(1)) - 1
				if (n > 0 && i >= n) || (n == 0 && time.Now().After(deadline)) {
					break
				}
				t := time.Now()
				if err := do(w, i); err != nil {
					failed++
					continue
				}
				lat = append(lat, time.Since(t))
				ok++
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.ok += ok
			res.failed += failed
			mu.Unlock()
		})
	}
	wg.Wait()
	res.rps = float64(res.ok) / time.Since(start).Seconds()
	slices.Sort(res.lat)
	return res
}

func benchClient(conc int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// webhookBody is a ~1 KB Truv delivery with a unique webhook id, for an
// order the portal does not have (it is stored, then waits for the order
// like any early delivery). Each is for its own order: deliveries of one
// order waiting behind an unknown one would measure that wait instead.
func webhookBody(i int) []byte {
	id := make([]byte, 16)
	rand.Read(id)
	body, _ := json.Marshal(map[string]any{
		"webhook_id": hex.EncodeToString(id), "event_type": truv.EventOrderStatusUpdated, "event_created_at": time.Now().UTC().Format(time.RFC3339),
		"order_id": "bench-order-" + hex.EncodeToString(id[:6]), "status": "completed", "product": "income",
		"note": strings.Repeat("x", 760),
	})
	return body
}

func postWebhook(cl *http.Client, base string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/truv", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(truv.HeaderSignature, truv.Sign(benchSecret, body))
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// session is a signed-in caseworker over plain HTTP.
type session struct {
	base string
	cl   *http.Client
	csrf string
}

var benchCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func signInHTTP(b *testing.B, base string, conc int) *session {
	jar, _ := cookiejar.New(nil)
	cl := benchClient(conc)
	cl.Jar = jar
	s := &session{base: base, cl: cl}
	s.refreshCSRF(b, "/login")
	form := url.Values{"email": {"caseworker@demo.caseverify.test"}, "password": {"demo-caseworker-2026"}, "_csrf": {s.csrf}}
	resp, err := cl.PostForm(base+"/login", form)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in answered %d", resp.StatusCode)
	}
	s.refreshCSRF(b, "/cases")
	return s
}

func (s *session) refreshCSRF(b *testing.B, path string) {
	resp, err := s.cl.Get(s.base + path)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		b.Fatalf("no CSRF token on %s (%d)", path, resp.StatusCode)
	}
	s.csrf = string(m[1])
}

// get fetches path and returns the body size; a non-200 is an error.
func (s *session) get(path string) (int, error) {
	resp, err := s.cl.Get(s.base + path)
	if err != nil {
		return 0, err
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return int(n), nil
}

// search posts the case search form and checks the answer names want.
func (s *session) search(q, want string) error {
	resp, err := s.cl.PostForm(s.base+"/cases/search", url.Values{"q": {q}, "_csrf": {s.csrf}})
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("search: %d", resp.StatusCode)
	}
	if want != "" && !bytes.Contains(body, []byte(want)) {
		return fmt.Errorf("search %q: %q not in the answer", q, want)
	}
	return nil
}

// goalRow is one line of the table. lowerIsBetter: a latency (measured ≤
// goal passes); otherwise a rate or ratio (measured ≥ goal passes).
type goalRow struct {
	name          string
	engine        string
	goal          float64
	unit          string
	lowerIsBetter bool
	rounds        []float64
	note          string
}

func (g *goalRow) add(v float64) { g.rounds = append(g.rounds, v) }

func (g goalRow) line() string {
	if len(g.rounds) == 0 {
		return fmt.Sprintf("| %s | %s | %s %s | not measured | | | %s |", g.name, g.engine, cmpSign(g.lowerIsBetter), fmtNum(g.goal, g.unit), g.note)
	}
	r := slices.Clone(g.rounds)
	slices.Sort(r)
	med := r[len(r)/2]
	ratio := med / g.goal
	pass := med <= g.goal
	if !g.lowerIsBetter {
		pass = med >= g.goal
	}
	verdict := "FAIL"
	if pass {
		verdict = "pass"
	}
	return fmt.Sprintf("| %s | %s | %s %s | %s / %s / %s | %.2f | %s | %s |", g.name, g.engine, cmpSign(g.lowerIsBetter), fmtNum(g.goal, g.unit),
		fmtNum(r[0], g.unit), fmtNum(med, g.unit), fmtNum(r[len(r)-1], g.unit), ratio, verdict, g.note)
}

func cmpSign(lower bool) string {
	if lower {
		return "≤"
	}
	return "≥"
}

func fmtNum(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "×":
		return fmt.Sprintf("%.2f×", v)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	case "KB":
		return fmt.Sprintf("%.0f KB", v)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkGoals runs once whatever b.N is (make bench uses -benchtime 1x):
// every goal on each engine in turn (benchEngines), one portal at a time,
// and one table with the engines' rows of a goal side by side.
func BenchmarkGoals(b *testing.B) {
	echoURL := bareEcho(b)
	var rows []*goalRow
	for _, engine := range benchEngines() {
		rows = append(rows, benchGoals(b, engine, echoURL)...)
	}
	// Group by goal, keeping the order measured: the engines side by side.
	var order []string
	byName := map[string][]*goalRow{}
	for _, g := range rows {
		if byName[g.name] == nil {
			order = append(order, g.name)
		}
		byName[g.name] = append(byName[g.name], g)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\ncaseverify goals (issues 17, 18): %d members in %d cases, %d rounds each (min / median / max), %s\n\n",
		benchMembers, benchCases, benchRounds, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	out.WriteString("| goal | engine | target | measured min / median / max | median ÷ target | | note |\n|---|---|---|---|---|---|---|\n")
	for _, name := range order {
		for _, g := range byName[name] {
			out.WriteString(g.line() + "\n")
		}
	}
	fmt.Print(out.String())
	if f := os.Getenv("BENCH_TABLE"); f != "" {
		os.WriteFile(f, []byte(out.String()), 0o644)
	}
}

// benchGoals measures the goals on one engine against its own portal,
// stopped before it returns.
func benchGoals(b *testing.B, engine, echoURL string) []*goalRow {
	p, stop := benchPortal(b, engine)
	defer stop()
	s := signInHTTP(b, p.URL, 8)
	var rows []*goalRow
	row := func(g *goalRow) *goalRow { g.engine = engine; rows = append(rows, g); return g }
	// BENCH_ONLY=webhook (or search, list, page, process, live, fanout)
	// runs one part, e.g. under -cpuprofile.
	only := os.Getenv("BENCH_ONLY")
	part := func(name string) bool { return only == "" || strings.Contains(only, name) }

	// Case search, one request at a time, p95 of 60 searches per round.
	searches := []struct{ name, q, want string }{
		{"search: case number", benchCaseNumber(12345), benchCaseNumber(12345)},
		{"search: last name (rare)", "Rare012340", "Pat12340"},
		{"search: last name (common)", "Garcia", "Garcia"},
		{"search: exact email", "Member4320@Example.org", "Pat4320"},
		{"search: exact phone", "(555) 000-9876", "Pat9876"},
	}
	for _, q := range searches {
		if !part("search") {
			break
		}
		g := row(&goalRow{name: q.name + " p95", goal: 30, unit: "ms", lowerIsBetter: true})
		if err := s.search(q.q, q.want); err != nil {
			b.Fatal(err)
		}
		for range benchRounds {
			r := runLoad(1, 0, 60, func(int, int) error { return s.search(q.q, q.want) })
			if r.failed > 0 {
				b.Fatalf("%s: %d failed", q.name, r.failed)
			}
			g.add(ms(r.pct(0.95)))
		}
	}

	// Case list: the first page, a deep page, and the page's size.
	size := &goalRow{name: "case list page size", goal: 60, unit: "KB", lowerIsBetter: true, note: "was 194 KB"}
	if part("list") {
		row(size)
	}
	// Page 1,000 by its number (the go-to-page box: index entries skipped)
	// and page 1,001 by the pager's Next link from it (keyset: one seek).
	var nextPath string
	if part("list") {
		nextPath = benchNextLink(b, s, "/cases?page=1000")
	}
	for _, page := range []struct{ name, path string }{
		{"case list page 1 p95", "/cases"},
		{"case list page 1,000 by number p95", "/cases?page=1000"},
		{"case list page 1,001 by Next (keyset) p95", nextPath},
	} {
		if !part("list") {
			break
		}
		g := row(&goalRow{name: page.name, goal: 30, unit: "ms", lowerIsBetter: true})
		for range benchRounds {
			r := runLoad(1, 0, 40, func(int, int) error {
				n, err := s.get(page.path)
				if page.path == "/cases" {
					size.rounds = append(size.rounds[:0], float64(n)/1000)
				}
				return err
			})
			if r.failed > 0 {
				b.Fatalf("%s: %d failed", page.name, r.failed)
			}
			g.add(ms(r.pct(0.95)))
		}
	}

	// Case page alone, and while 4 searches run without pause.
	casePath := benchCaseFind(b, s, benchCaseNumber(777))
	alone := &goalRow{name: "case page p95", goal: 10, unit: "ms", lowerIsBetter: true}
	busy := &goalRow{name: "case page p95, 4 searches running", goal: 20, unit: "ms", lowerIsBetter: true}
	if part("page") {
		row(alone)
		row(busy)
	}
	for range benchRounds {
		if !part("page") {
			break
		}
		r := runLoad(1, 0, 100, func(int, int) error { _, err := s.get(casePath); return err })
		alone.add(ms(r.pct(0.95)))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					s.search(searches[i%len(searches)].q, "")
				}
			})
		}
		time.Sleep(200 * time.Millisecond)
		r = runLoad(1, 0, 60, func(int, int) error { _, err := s.get(casePath); return err })
		close(stop)
		wg.Wait()
		busy.add(ms(r.pct(0.95)))
	}

	// Processing rate and webhook-to-browser latency, before the intake
	// rounds leave their deliveries (for unknown orders) waiting for retries.
	// SQLite only: the orders are recorded through a second store on the
	// portal's database file.
	if (part("process") || part("live") || part("fanout")) && engine == engineSQLite {
		bo := openBenchOrders(b, p)
		if part("process") {
			benchProcessing(b, bo, row)
		}
		if part("live") {
			g := row(&goalRow{name: "webhook received → row changed on a watching browser p95", goal: 250, unit: "ms", lowerIsBetter: true,
				note: "SANDBOX_DELAY=0, SSE client"})
			benchLive(b, g, p.URL, s, bo, casePath, 40)
		}
		if part("fanout") {
			benchFanout(b, p, s, bo, casePath, row)
		}
	}

	// Live status across replicas (issue 18): a second replica on the same
	// PostgreSQL database serves the watching browser; the webhook goes to
	// the first. PostgreSQL only: SQLite is one process.
	if part("replica") && engine == enginePostgres {
		g := row(&goalRow{name: "webhook at replica A → row changed on a browser watching replica B p95", goal: 250, unit: "ms",
			lowerIsBetter: true, note: "SANDBOX_DELAY=0, SSE client, 70 changes a round (210 in all)"})
		replica := benchReplica(b, p)
		watch := &session{base: replica, cl: s.cl, csrf: s.csrf} // sessions live in the database
		benchLive(b, g, p.URL, watch, openBenchOrders(b, p), casePath, 70)
	}

	// Webhook intake at c=64: the portal against the bare Echo server,
	// interleaved, 3 s each.
	const conc = 64
	ratio := &goalRow{name: "webhook intake vs bare Echo, c=64", goal: 0.33, unit: "×"}
	p99 := &goalRow{name: "webhook intake p99, c=64", goal: 25, unit: "ms", lowerIsBetter: true}
	rate := &goalRow{name: "webhook intake rate, c=64", goal: 1, unit: "/s", note: "for reference"}
	if part("webhook") {
		row(ratio)
		row(p99)
		row(rate)
	}
	bodies := make([][]byte, 4096)
	for i := range bodies {
		bodies[i] = webhookBody(i)
	}
	for range benchRounds {
		if !part("webhook") {
			break
		}
		cl := benchClient(conc)
		e := runLoad(conc, 3*time.Second, 0, func(_, i int) error { return postWebhook(cl, echoURL, bodies[i%len(bodies)]) })
		cl = benchClient(conc)
		r := runLoad(conc, 3*time.Second, 0, func(_, i int) error { return postWebhook(cl, p.URL, webhookBody(i)) })
		if r.failed > 0 {
			b.Logf("webhook intake: %d failed", r.failed)
		}
		ratio.add(r.rps / e.rps)
		p99.add(ms(r.pct(0.99)))
		rate.add(r.rps)
		rate.note = fmt.Sprintf("bare Echo %.0f/s", e.rps)
	}

	// The renewal run has its own SQLite database (web/bench_renewal_test.go):
	// measured once, with the SQLite rows.
	if part("renewal") && engine == engineSQLite {
		row(benchRenewal(b))
	}
	return rows
}

// benchNextLink returns the pager's Next link on the page at path.
func benchNextLink(b *testing.B, s *session, path string) string {
	resp, err := s.cl.Get(s.base + path)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`href="([^"]+)" class="usa-pagination__button" aria-label="Next page"`).FindSubmatch(body)
	if m == nil || !bytes.Contains(m[1], []byte("after=")) {
		b.Fatalf("no keyset Next link on %s", path)
	}
	return html.UnescapeString(string(m[1]))
}

// benchCaseFind returns the path of the case numbered number (through the
// search, as a caseworker would find it).
func benchCaseFind(b *testing.B, s *session, number string) string {
	resp, err := s.cl.PostForm(s.base+"/cases/search", url.Values{"q": {number}, "_csrf": {s.csrf}})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`href="(/cases/\d+)"`).FindSubmatch(body)
	if m == nil {
		b.Fatalf("case %s not found", number)
	}
	return string(m[1])
}
