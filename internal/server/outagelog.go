package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// outageLogInterval is how often, during an outage, the number of refused
// requests is logged.
const outageLogInterval = 10 * time.Second

// outageLog keeps the log readable in an outage: the first failure is
// logged with its error and request id, then one line per interval with
// the count of requests refused, and one line when a request succeeds
// again — not one line per refused request (15,000 a second in a Redis
// outage under load).
//
// SECURITY(fail-closed): an outage must not also flood the disk or drown
// other security events in the log — ASVS 5.0 16.5.3.
type outageLog struct {
	log   *slog.Logger
	now   func() time.Time
	what  string     // what failed, as the lines name it ("dependency")
	level slog.Level // of the lines that report failures

	downFlag atomic.Bool // read without the lock on every request

	mu          sync.Mutex
	down        bool
	since       time.Time // when the outage began
	lastFailure time.Time
	windowStart time.Time
	refused     int // in the current window
	total       int // since the outage began
}

// failed records a refused request; it logs only the first of an outage
// and, after that, a summary once per interval.
func (o *outageLog) failed(ctx context.Context, err error) {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastFailure = now
	if !o.down {
		o.down, o.since, o.windowStart, o.refused, o.total = true, now, now, 0, 1
		o.downFlag.Store(true)
		o.log.Log(ctx, o.level, o.what+" unavailable", slog.Any("err", err))
		return
	}
	o.refused++
	o.total++
	if now.Sub(o.windowStart) >= outageLogInterval {
		o.log.Log(ctx, o.level, o.what+" still unavailable", slog.Int("refused", o.refused),
			slog.String("in_the_last", now.Sub(o.windowStart).Round(time.Second).String()), slog.Any("err", err))
		o.windowStart, o.refused = now, 0
	}
}

// ok records a request that got past its session store: after a second
// without any failure, it ends the outage with one line. Outside an outage
// it costs one atomic load.
func (o *outageLog) ok(ctx context.Context) {
	if !o.downFlag.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down || o.now().Sub(o.lastFailure) < time.Second {
		return
	}
	o.down = false
	o.downFlag.Store(false)
	o.log.InfoContext(ctx, o.what+" recovered", slog.Int("refused", o.total),
		slog.String("after", o.now().Sub(o.since).Round(time.Millisecond).String()))
}
