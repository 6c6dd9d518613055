package session

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// bounded makes a stock scs store — whose methods take no context — honour
// the request's deadline. The stock stores wait for a pooled connection
// without any limit (redigo's Get with Wait, database/sql under
// MaxOpenConns); bounded hands out at most as many permits as the pool has
// connections, waits for one with the request's context, and runs the
// call in its own goroutine, so the request is answered at its deadline
// even while the call is still blocked. A late call keeps its permit until
// it returns (within the pool's I/O timeouts), so no more than that many
// are ever left behind.
//
// SECURITY(fail-closed): a hung Redis or database answers 503 at the
// request's deadline, never holds the request without limit — ASVS 5.0
// 16.5.3.
type bounded struct {
	inner   scs.Store
	permits chan struct{}
}

func newBounded(inner scs.Store, permits int) *bounded {
	return &bounded{inner: inner, permits: make(chan struct{}, max(permits, 1))}
}

// run calls f with a permit, returning when f does or ctx ends.
func (b *bounded) run(ctx context.Context, f func()) error {
	select {
	case b.permits <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() {
		defer func() { <-b.permits }()
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *bounded) FindCtx(ctx context.Context, key string) (data []byte, found bool, err error) {
	var d []byte
	var f bool
	var e error
	if err := b.run(ctx, func() { d, f, e = b.inner.Find(key) }); err != nil {
		return nil, false, err
	}
	return d, f, e
}

func (b *bounded) CommitCtx(ctx context.Context, key string, data []byte, expiry time.Time) error {
	var e error
	if err := b.run(ctx, func() { e = b.inner.Commit(key, data, expiry) }); err != nil {
		return err
	}
	return e
}

func (b *bounded) DeleteCtx(ctx context.Context, key string) error {
	var e error
	if err := b.run(ctx, func() { e = b.inner.Delete(key) }); err != nil {
		return err
	}
	return e
}
