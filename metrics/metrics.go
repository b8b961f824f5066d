// Package metrics is the portal's operations metrics, served in the
// Prometheus text format at /metrics on their own listen address
// (METRICS_ADDR). It keeps its own registry (nothing registers into the
// global one behind its back), and every label takes values from a small
// fixed set: provider names, channels, results, states, kinds. Never an
// agency, a case, a person or anything from a request.
//
// Counters and histograms are recorded where things happen (a nil *Metrics
// records nothing, so code and tests without metrics need no checks);
// the inbox backlog and run progress are read from the database at each
// scrape, so they are right even with several portal processes.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"caseverify/store"
)

// Metrics holds the portal's collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry

	webhooks         *prometheus.CounterVec
	processed        *prometheus.CounterVec
	processing       *prometheus.HistogramVec
	lag              *prometheus.HistogramVec
	providerCalls    *prometheus.CounterVec
	providerTime     *prometheus.HistogramVec
	messages         *prometheus.CounterVec
	streams          prometheus.Gauge
	liveRenders      prometheus.Counter
	liveSessionReads prometheus.Counter
	db               *dbCollector
}

// Providers names the configured providers: their inbox gauges are there
// (0) even when idle. Call it before serving.
func (m *Metrics) Providers(names ...string) {
	if m != nil {
		m.db.providers = names
	}
}

// latencyBuckets suit calls and processing that take milliseconds to tens
// of seconds (a provider call times out at 15 s).
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// lagBuckets suit the time from receiving a delivery to having processed
// it: usually well under a second, minutes when a provider fails, days when
// a delivery waits for an order the portal does not know yet.
var lagBuckets = []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600}

// New returns the metrics, registered with a new registry together with
// the collectors that read st at scrape time.
func New(st *store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caseverify_webhook_deliveries_total",
			Help: "Webhook deliveries received, by provider and result (accepted, duplicate, auth_failed, unknown_url, too_large, bad_request, refused, error).",
		}, []string{"provider", "result"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caseverify_inbox_processed_total",
			Help: "Webhook deliveries taken from the inbox, by provider and result (done, retry, dead_letter).",
		}, []string{"provider", "result"}),
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caseverify_inbox_processing_seconds",
			Help:    "Time to process one webhook delivery from the inbox (provider reads included), by provider.",
			Buckets: latencyBuckets,
		}, []string{"provider"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caseverify_inbox_lag_seconds",
			Help:    "Time from receiving a webhook delivery to having processed it (done or dead letter), by provider.",
			Buckets: lagBuckets,
		}, []string{"provider"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caseverify_provider_calls_total",
			Help: "Calls to a provider's API, by provider and result (ok, client_error, throttled, server_error, transport_error).",
		}, []string{"provider", "result"}),
		providerTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caseverify_provider_call_seconds",
			Help:    "Latency of calls to a provider's API, by provider.",
			Buckets: latencyBuckets,
		}, []string{"provider"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caseverify_messages_total",
			Help: "Links delivered to applicants, by channel (email, sms, qr, copy, provider) and result (sent, shown, failed).",
		}, []string{"channel", "result"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caseverify_live_streams",
			Help: "Open live-status streams (Server-Sent Events) of case, order and contact-center pages.",
		}),
		liveRenders: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caseverify_live_renders_total",
			Help: "Case states rendered for live streams: one per change (and role) however many streams watch the case.",
		}),
		liveSessionReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caseverify_live_session_reads_total",
			Help: "Session reads for live streams: one per change (or ping) for all the streams that check their session together.",
		}),
	}
	m.reg.MustRegister(m.webhooks, m.processed, m.processing, m.lag, m.providerCalls, m.providerTime, m.messages, m.streams, m.liveRenders, m.liveSessionReads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.db = &dbCollector{st: st}
	m.reg.MustRegister(m.db)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogErrors{log},
		ErrorHandling: promhttp.ContinueOnError, // a failed database read leaves the counters served
		Timeout:       10 * time.Second,
	})
}

// Serve serves /metrics on ln until ctx ends. Only /metrics is there: the
// address is for a scraper on the operations network, not for browsers.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type slogErrors struct{ log *slog.Logger }

func (l slogErrors) Println(v ...any) {
	if l.log != nil {
		l.log.Error("metrics", "error", v)
	}
}

// Webhook counts one webhook delivery by its provider and the status the
// portal answered (duplicate: authenticated and already stored).
func (m *Metrics) Webhook(provider string, status int, duplicate bool) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(provider, webhookResult(status, duplicate)).Inc()
}

func webhookResult(status int, duplicate bool) string {
	switch {
	case status < 300 && duplicate:
		return "duplicate"
	case status < 300:
		return "accepted"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "auth_failed"
	case status == http.StatusNotFound:
		return "unknown_url"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusBadRequest:
		return "bad_request"
	case status < 500:
		return "refused"
	default:
		return "error"
	}
}

// Processed records one delivery taken from the inbox: its result (done,
// retry, dead_letter), how long processing took, and, once it is finished
// (not a retry), how long after its arrival.
func (m *Metrics) Processed(provider, result string, took, sinceReceived time.Duration) {
	if m == nil {
		return
	}
	m.processed.WithLabelValues(provider, result).Inc()
	m.processing.WithLabelValues(provider).Observe(took.Seconds())
	if result != "retry" {
		m.lag.WithLabelValues(provider).Observe(sinceReceived.Seconds())
	}
}

// Message counts one delivery of a link by channel and result.
func (m *Metrics) Message(channel, result string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(channel, result).Inc()
}

// StreamOpened counts an open live stream; call the returned func when it
// closes.
func (m *Metrics) StreamOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.streams.Inc()
	return m.streams.Dec
}

// LiveRender counts a case state rendered for live streams.
func (m *Metrics) LiveRender() {
	if m != nil {
		m.liveRenders.Inc()
	}
}

// LiveSessionRead counts a read of live streams' sessions.
func (m *Metrics) LiveSessionRead() {
	if m != nil {
		m.liveSessionReads.Inc()
	}
}

// ProviderClient returns a copy of c whose calls are counted and timed as
// calls to provider. provider must be a configured provider's name.
func (m *Metrics) ProviderClient(c *http.Client, provider string) *http.Client {
	if m == nil {
		return c
	}
	cc := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = &timedTransport{next: next, calls: m.providerCalls.MustCurryWith(prometheus.Labels{"provider": provider}),
		took: m.providerTime.WithLabelValues(provider)}
	return &cc
}

type timedTransport struct {
	next  http.RoundTripper
	calls *prometheus.CounterVec
	took  prometheus.Observer
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.took.Observe(time.Since(start).Seconds())
	t.calls.WithLabelValues(callResult(resp, err)).Inc()
	return resp, err
}

// callResult classes a provider's answer: a refusal of what was asked
// (4xx) is the portal's or the applicant's matter; throttling, the
// provider's own failures and no answer at all are the provider's.
func callResult(resp *http.Response, err error) string {
	switch {
	case err != nil:
		return "transport_error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "throttled"
	case resp.StatusCode >= 500:
		return "server_error"
	case resp.StatusCode >= 400:
		return "client_error"
	default:
		return "ok"
	}
}

// dbCollector reads the inbox backlog and the runs' progress at each scrape.
type dbCollector struct {
	st        *store.Store
	providers []string
}

var (
	inboxDepthDesc = prometheus.NewDesc("caseverify_inbox_depth",
		"Unprocessed webhook deliveries, by provider and state (due: may be processed now; waiting: for a retry).",
		[]string{"provider", "state"}, nil)
	inboxAgeDesc = prometheus.NewDesc("caseverify_inbox_oldest_age_seconds",
		"Age of the oldest unprocessed webhook delivery, by provider (0 when there is none).",
		[]string{"provider"}, nil)
	runsDesc = prometheus.NewDesc("caseverify_runs_running",
		"Runs of the run engine still running, by kind (renewal, …).",
		[]string{"kind"}, nil)
	runItemsDesc = prometheus.NewDesc("caseverify_run_items",
		"Items of the running runs, by kind and status (pending, working, done statuses).",
		[]string{"kind", "status"}, nil)
)

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inboxDepthDesc
	ch <- inboxAgeDesc
	ch <- runsDesc
	ch <- runItemsDesc
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	backlogs, err := d.st.InboxBacklogs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(inboxDepthDesc, err)
	}
	now := d.st.Now()
	seen := map[string]bool{}
	for _, b := range backlogs {
		seen[b.Provider] = true
		ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, float64(b.Due), b.Provider, "due")
		ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, float64(b.Waiting), b.Provider, "waiting")
		ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, max(now.Sub(b.Oldest).Seconds(), 0), b.Provider)
	}
	for _, p := range d.providers {
		if !seen[p] && err == nil {
			ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, 0, p, "due")
			ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, 0, p, "waiting")
			ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, 0, p)
		}
	}
	runs, err := d.st.RunsInProgress(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(runsDesc, err)
	}
	for _, r := range runs {
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.GaugeValue, float64(r.Running), r.Kind)
		for status, n := range r.Items {
			ch <- prometheus.MustNewConstMetric(runItemsDesc, prometheus.GaugeValue, float64(n), r.Kind, status)
		}
	}
}
