package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"caseverify/providers/truv"
	"caseverify/store/pgtest"
)

// reliability.md D1 (issue 18: on PostgreSQL too): kill -9 of a replica
// while webhooks pour in loses no acknowledged delivery. The portal runs as
// a separate process (this test binary re-executed, the same serve() as
// `make run`); signed Truv webhooks are sent concurrently and every one
// answered 2xx is recorded; the process is killed with SIGKILL mid-flight,
// started again on the same database, and so on for a few rounds. Then
// every acknowledged delivery must be in the inbox: a 2xx means committed
// (the handler answers after the inbox batch's commit).
//
// It runs on SQLite in the web suite and on PostgreSQL in make test's
// PostgreSQL pass (its name matches -run Postgres).
func TestIntake_KillNineLosesNoAcknowledgedDelivery_SQLiteAndPostgres(t *testing.T) {
	if os.Getenv(killChildEnv) == "1" {
		runKillChild(t)
		return
	}
	dbURL := pgtest.DatabaseURL(t, "caseverify.db")
	key := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	env := []string{
		killChildEnv + "=1", "DATABASE_URL=" + dbURL, "ADDR=127.0.0.1:0", "SANDBOX=true", "LOG_LEVEL=error",
		"SESSION_KEY=" + key(1), "DATA_KEY=" + key(2), "SANDBOX_KEY=" + key(3),
		// Truv as a configured provider, so the test can sign its webhooks;
		// its API is never called (the deliveries name no known order).
		"TRUV_BASE_URL=http://127.0.0.1:9", "TRUV_CLIENT_ID=kill", "TRUV_ACCESS_SECRET=" + killSecret,
	}

	const rounds, conc = 3, 16
	var mu sync.Mutex
	acked := map[string]bool{} // webhook ids answered 2xx
	sent, cut := 0, 0
	for round := range rounds {
		addr, kill := startKillChild(t, env)
		before := len(acked)
		cl := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range conc {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("kill-r%d-w%d-%d", round, w, i)
					ok, err := postKillWebhook(cl, addr, id)
					mu.Lock()
					sent++
					if ok {
						acked[id] = true
					} else if err != nil {
						cut++
					}
					mu.Unlock()
					if err != nil {
						return // the process is gone
					}
				}
			})
		}
		// Kill at a random moment once deliveries are being acknowledged.
		deadline := time.Now().Add(time.Minute)
		for {
			mu.Lock()
			n := len(acked) - before
			mu.Unlock()
			if n >= conc || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		kill()
		close(stop)
		wg.Wait()
		cl.CloseIdleConnections()
	}
	if len(acked) == 0 {
		t.Fatal("no delivery was acknowledged: the test measured nothing")
	}

	// What the database holds after the last kill.
	db := pgtest.Open(t, dbURL)
	rows, err := db.Query(pgtest.Q(`SELECT dedupe_key FROM webhook_inbox WHERE provider = ?`), "truv")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(k, ":") // Truv's key: webhook id ":" body hash
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id := range acked {
		if !stored[id] {
			missing++
			if missing <= 5 {
				t.Errorf("delivery %s was acknowledged (2xx) but is not in the inbox", id)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged deliveries lost to kill -9", missing, len(acked))
	}
	t.Logf("%d rounds: %d sent, %d acknowledged, %d cut by the kill, %d stored (unacknowledged ones may be stored too)",
		rounds, sent, len(acked), cut, len(stored))
}

const (
	killChildEnv = "CASEVERIFY_KILL_CHILD"
	killSecret   = "kill-truv-access-secret"
)

// runKillChild is the portal process: it serves until it is killed, and
// says its address on stdout once it listens.
func runKillChild(t *testing.T) {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(context.Background(), cfg, os.Getenv, io.Discard, os.Stderr, ready) }()
	select {
	case addr := <-ready:
		fmt.Printf("LISTENING %s\n", addr)
	case err := <-done:
		t.Fatalf("portal did not start: %v", err)
	}
	t.Fatalf("portal stopped: %v", <-done) // only SIGKILL is expected to end it
}

// startKillChild starts the portal process and returns its base URL and a
// function that kills it with SIGKILL and waits for it to be gone.
func startKillChild(t *testing.T, env []string) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIntake_KillNineLosesNoAcknowledgedDelivery_SQLiteAndPostgres$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	// If this test process dies first, the portal goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("the portal process ended before it listened")
		}
		return "http://" + a, kill
	case <-time.After(2 * time.Minute):
		t.Fatal("the portal process did not listen within 2m")
	}
	return "", nil
}

// postKillWebhook sends one signed Truv delivery with webhook id id; ok is
// a 2xx answer, err a cut connection (the process was killed).
func postKillWebhook(cl *http.Client, base, id string) (ok bool, err error) {
	body, _ := json.Marshal(map[string]any{
		"webhook_id": id, "event_type": truv.EventOrderStatusUpdated, "event_created_at": time.Now().UTC().Format(time.RFC3339),
		"order_id": "kill-order-" + id, "status": "completed", "product": "income",
	})
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/truv", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(truv.HeaderSignature, truv.Sign(killSecret, body))
	resp, err := cl.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2, nil
}
