package main

// make bench, continued: the inbox's processing rate, webhook-to-browser
// latency and the live-status fan-out (issue 17 items 2 and 4). Orders are
// recorded through a second store on the portal's database (a Truv order
// id each, no provider call); their webhooks are signed and posted like the
// intake's, and a real SSE client reads the case's live-status stream.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/providers/truv"
	"caseverify/store"
)

// benchOrders records orders in the portal's database.
type benchOrders struct {
	st     *store.Store
	db     *sql.DB // read-only, for the bench's own checks
	agency int64
	next   int // the next case (by id) to put an order in
	seq    int // makes provider order ids unique across parts
	pg     bool
}

func openBenchOrders(b *testing.B, p *portal) *benchOrders {
	ctx := context.Background()
	path := filepath.Join(p.Dir, "caseverify.db")
	keyHex, err := os.ReadFile(filepath.Join(p.Dir, "data.key"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		b.Fatal(err)
	}
	pg := store.IsPostgres(p.vars["DATABASE_URL"])
	if pg {
		path = p.vars["DATABASE_URL"]
	}
	st, err := store.Open(ctx, path, store.Options{DataKey: key, Unsynced: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var db *sql.DB
	if pg {
		db, err = sql.Open("pgx", path) // registered by the store's pgx stdlib import
	} else {
		db, err = sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	a, err := st.AgencyByName(ctx, demoAgency)
	if err != nil {
		b.Fatal(err)
	}
	return &benchOrders{st: st, db: db, agency: a.ID, pg: pg}
}

// benchOrder is an order the bench sends webhooks for.
type benchOrder struct {
	id, caseID int64
	truvID     string
}

// add records n created Truv orders, one per case (caseID 0), or all in one
// case.
func (bo *benchOrders) add(b *testing.B, n int, caseID int64) []benchOrder {
	ctx := context.Background()
	q := `SELECT case_id, MIN(id) FROM members WHERE agency_id = ? GROUP BY case_id ORDER BY case_id LIMIT ? OFFSET ?`
	args := []any{bo.agency, n, bo.next}
	if caseID != 0 {
		q = `SELECT case_id, MIN(id) FROM members WHERE agency_id = ? AND case_id = ? GROUP BY case_id`
		args = []any{bo.agency, caseID}
	} else {
		bo.next += n
	}
	if bo.pg {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	rows, err := bo.db.Query(q, args...)
	if err != nil {
		b.Fatal(err)
	}
	type cm struct{ c, m int64 }
	var pairs []cm
	for rows.Next() {
		var x cm
		if err := rows.Scan(&x.c, &x.m); err != nil {
			b.Fatal(err)
		}
		pairs = append(pairs, x)
	}
	rows.Close()
	if len(pairs) == 0 {
		b.Fatal("no members to put orders on")
	}
	out := make([]benchOrder, n)
	for i := range out {
		x := pairs[i%len(pairs)]
		o, err := bo.st.CreateOrder(ctx, bo.agency, store.NewOrder{CaseID: x.c, MemberID: x.m, Reference: store.NewOrderReference(),
			Provider: "truv", Products: []string{"income"}, Notify: store.NotifyAgency})
		if err != nil {
			b.Fatal(err)
		}
		bo.seq++
		tid := fmt.Sprintf("bench-known-%d", bo.seq)
		if err := bo.st.AttachProviderOrder(ctx, bo.agency, o.ID, store.ProviderOrder{OrderID: tid, Status: store.StatusCreated}, "created"); err != nil {
			b.Fatal(err)
		}
		out[i] = benchOrder{id: o.ID, caseID: x.c, truvID: tid}
	}
	return out
}

// truvEvent is a signed-webhook body for a known order: "sent" (the link
// went out) or "connected" (in progress), at the given time.
func truvEvent(webhookID, orderID, what string, at time.Time) []byte {
	ev := map[string]any{"webhook_id": webhookID, "order_id": orderID, "event_created_at": at.UTC().Format(time.RFC3339Nano),
		"updated_at": at.UTC().Format(time.RFC3339Nano), "product": "income"}
	switch what {
	case "sent":
		ev["event_type"], ev["status"] = truv.EventOrderStatusUpdated, "sent"
	default:
		ev["event_type"] = truv.EventLinkConnected
	}
	body, _ := json.Marshal(ev)
	return body
}

// benchProcessing: 2,000 orders, two deliveries each ("sent", then
// "connected"). The deliveries are stored through a second store on the
// portal's database, 256 at a time (the intake's speed is the intake rows'
// business): the portal's processor finds them on its next look. That look
// is its once-a-second poll, because a second store cannot wake it (a
// delivery through the portal's intake wakes a worker at once), so the
// clock runs from the first delivery processed to the last (processed_at,
// written by the portal), and the rate counts the deliveries finished after
// the first: the poll's wait, up to a second of a 2-3 s round, is the
// bench's artefact, not processing. The note gives the wall time from the
// first stored too. Every order must have taken both, in order: its "sent"
// applied (a "sent" after "in progress" would be refused as a step back).
func benchProcessing(b *testing.B, bo *benchOrders, row func(*goalRow) *goalRow) {
	const n = 2000
	g := row(&goalRow{name: "inbox processing rate (2 deliveries × 2,000 orders)", goal: 2000, unit: "/s"})
	ctx := context.Background()
	for round := range benchRounds {
		orders := bo.add(b, n, 0)
		prefix := fmt.Sprintf("proc-%d-", round)
		start := time.Now()
		r := runLoad(256, 0, n, func(_, i int) error {
			o := orders[i]
			at := time.Now()
			for _, d := range []struct{ key, what string }{{"a", "sent"}, {"b", "connected"}} {
				id := fmt.Sprintf("%s%d-%s", prefix, i, d.key)
				if _, err := bo.st.AddInboxFor(ctx, "truv", id, "", "truv:"+o.truvID, truvEvent(id, o.truvID, d.what, at)); err != nil {
					return err
				}
				at = at.Add(time.Millisecond)
			}
			return nil
		})
		if r.failed > 0 {
			b.Fatalf("processing: %d deliveries not stored", r.failed)
		}
		stored := time.Since(start)
		for {
			var pending int
			if err := bo.db.QueryRow(`SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL AND dedupe_key LIKE ?`,
				prefix+"%").Scan(&pending); err != nil {
				b.Fatal(err)
			}
			if pending == 0 {
				break
			}
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("processing: %d deliveries still pending after 2m", pending)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		var first, last string
		var after int
		if err := bo.db.QueryRow(`SELECT min(processed_at), max(processed_at),
			(SELECT count(*) FROM webhook_inbox WHERE dedupe_key LIKE ? AND processed_at > (SELECT min(processed_at) FROM webhook_inbox WHERE dedupe_key LIKE ?))
			FROM webhook_inbox WHERE dedupe_key LIKE ?`, prefix+"%", prefix+"%", prefix+"%").Scan(&first, &last, &after); err != nil {
			b.Fatal(err)
		}
		t0, err0 := time.Parse(time.RFC3339Nano, first)
		t1, err1 := time.Parse(time.RFC3339Nano, last)
		if err0 != nil || err1 != nil || !t1.After(t0) {
			b.Fatalf("processing: processed_at %q to %q: %v %v", first, last, err0, err1)
		}
		busy := t1.Sub(t0)
		g.add(float64(after) / busy.Seconds())
		ids := make([]string, n)
		for i, o := range orders {
			ids[i] = strconv.FormatInt(o.id, 10)
		}
		var inOrder, inProgress int
		if err := bo.db.QueryRow(`SELECT (SELECT count(DISTINCT order_id) FROM order_events WHERE status = 'sent' AND order_id IN (`+strings.Join(ids, ",")+`)),
			(SELECT count(*) FROM orders WHERE status = 'in_progress' AND id IN (`+strings.Join(ids, ",")+`))`).Scan(&inOrder, &inProgress); err != nil {
			b.Fatal(err)
		}
		g.note = fmt.Sprintf("first to last processed %.2fs; from the first stored %.2fs (storing %.2fs, then the processor's next poll); applied in order: %d/%d orders, in progress: %d/%d", busy.Seconds(), took.Seconds(), stored.Seconds(), inOrder, n, inProgress, n)
		if inOrder != n || inProgress != n {
			b.Errorf("processing: %s", g.note)
		}
	}
}

// sseClient reads a case's live-status stream and reports each event's
// name and arrival time.
type sseClient struct {
	resp   *http.Response
	events chan sseEvent
}

type sseEvent struct {
	name string
	at   time.Time
}

func openSSE(s *session, cl *http.Client, casePath string, events chan sseEvent) (*sseClient, error) {
	req, _ := http.NewRequest(http.MethodGet, s.base+casePath+"/events?at="+strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("events: %d", resp.StatusCode)
	}
	c := &sseClient{resp: resp, events: events}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				select {
				case events <- sseEvent{name: name, at: time.Now()}:
				default: // the bench is not listening
				}
			}
		}
	}()
	return c, nil
}

func (c *sseClient) close() { c.resp.Body.Close() }

// streamClient is an HTTP client for long-lived streams: the session's
// cookies, no overall timeout.
func streamClient(s *session, conns int) *http.Client {
	return &http.Client{Jar: s.cl.Jar, Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}}
}

// benchLive: a browser watches a case through watch; a webhook for one of
// its orders is posted to postURL (the same portal, or another replica);
// the time from the post to the order's row arriving on the stream, p95
// of samples changes a round.
func benchLive(b *testing.B, g *goalRow, postURL string, s *session, bo *benchOrders, casePath string, samples int) {
	caseID, _ := strconv.ParseInt(strings.TrimPrefix(casePath, "/cases/"), 10, 64)
	events := make(chan sseEvent, 256)
	c, err := openSSE(s, streamClient(s, 2), casePath, events)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	cl := benchClient(1)
	for round := range benchRounds {
		orders := bo.add(b, samples, caseID)
		// On PostgreSQL recording the orders notifies every replica too:
		// let those events arrive and drop them before timing anything.
		time.Sleep(time.Second)
		var lat []time.Duration
		for i, o := range orders {
			want := fmt.Sprintf("order-%d", o.id)
		drain:
			for {
				select {
				case <-events:
				default:
					break drain
				}
			}
			start := time.Now()
			if err := postWebhook(cl, postURL, truvEvent(fmt.Sprintf("live-%d-%d", round, i), o.truvID, "sent", start)); err != nil {
				b.Fatal(err)
			}
			timeout := time.After(10 * time.Second)
		wait:
			for {
				select {
				case ev := <-events:
					if ev.name == want && ev.at.After(start) {
						lat = append(lat, ev.at.Sub(start))
						break wait
					}
				case <-timeout:
					b.Fatalf("live: %s did not arrive within 10s", want)
				}
			}
		}
		slices.Sort(lat)
		g.add(ms(lat[min(len(lat)-1, len(lat)*95/100)]))
	}
}

// benchFanout: 1,000 SSE streams on one case; one change (a webhook for
// one of its orders) must reach all of them; and the process's memory
// with the streams open.
func benchFanout(b *testing.B, p *portal, s *session, bo *benchOrders, casePath string, row func(*goalRow) *goalRow) {
	const watchers = 1000
	g := row(&goalRow{name: "one change → all 1,000 watchers of one case", goal: 50, unit: "ms", lowerIsBetter: true,
		note: "from the webhook's post to the last stream"})
	rss := row(&goalRow{name: "RSS with 1,000 open streams", goal: 150, unit: "MB", lowerIsBetter: true,
		note: "the bench's process: the portal and its 1,000 clients"})
	caseID, _ := strconv.ParseInt(strings.TrimPrefix(casePath, "/cases/"), 10, 64)
	events := make(chan sseEvent, watchers*8)
	cl := streamClient(s, watchers)
	clients := make([]*sseClient, watchers)
	var opened atomic.Int64
	var wg sync.WaitGroup
	var openErr atomic.Value
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < watchers; i += 16 {
				c, err := openSSE(s, cl, casePath, events)
				if err != nil {
					openErr.Store(err)
					return
				}
				clients[i] = c
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := openErr.Load().(error); err != nil {
		b.Fatalf("fanout: opening streams: %v", err)
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	post := benchClient(1)
	orders := bo.add(b, benchRounds, caseID)
	for round, o := range orders {
		// What the process holds now: the memory the earlier parts freed
		// goes back to the system first.
		debug.FreeOSMemory()
		rss.add(rssMB())
		want := fmt.Sprintf("order-%d", o.id)
		start := time.Now()
		if err := postWebhook(post, p.URL, truvEvent(fmt.Sprintf("fan-%d", round), o.truvID, "sent", start)); err != nil {
			b.Fatal(err)
		}
		got, last := 0, time.Duration(0)
		timeout := time.After(30 * time.Second)
		for got < watchers {
			select {
			case ev := <-events:
				if ev.name == want {
					got++
					last = ev.at.Sub(start)
				}
			case <-timeout:
				b.Fatalf("fanout: %d of %d streams got %s within 30s", got, watchers, want)
			}
		}
		g.add(ms(last))
	}
}

// rssMB is this process's resident memory.
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
