package session

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Store is where sessions live: a stock scs store (redisstore,
// sqlite3store or postgresstore, unmodified) behind the revocation guard,
// with the per-user registry beside it and the operations the app needs
// beside scs's: a readiness ping and a clean shutdown.
type Store struct {
	*guard
	// Kind names the store for logs and pages: "redis", "sqlite" or "postgres".
	Kind     string
	Registry Registry
	ping     func(context.Context) error
	close    func() error
	inspect  func(ctx context.Context, storeKey string) (string, time.Duration, bool, error)
}

// Tombstones records which sessions have ended, beside the sessions: a
// name is "k:" + a store key, or "s:" + a registry display id. A
// tombstone never holds a token (store keys are SHA-256 of tokens).
type Tombstones interface {
	// Mark records names as ended for ttl.
	Mark(ctx context.Context, ttl time.Duration, names ...string) error
	// AnyMarked reports whether any of names has a live tombstone.
	AnyMarked(ctx context.Context, names ...string) (bool, error)
}

// StoreParts are what NewStore assembles.
type StoreParts struct {
	Kind     string
	Sessions scs.Store // the stock store, used as it is
	// Connections is the size of the pool the stock store draws from: at
	// most that many of its calls run at once (see bounded).
	Connections int
	Tombstones  Tombstones
	Registry    Registry
	Ping        func(context.Context) error
	Close       func() error
	// Inspect, for the storage practice page, returns the name a session
	// is stored under (never the token: the key is SHA-256 of it) and how
	// long the store keeps it; found is false when there is no such entry.
	Inspect func(ctx context.Context, storeKey string) (name string, ttl time.Duration, found bool, err error)
}

// NewStore puts the revocation guard around a stock scs store.
func NewStore(p StoreParts) *Store {
	return &Store{
		guard:    &guard{inner: newBounded(p.Sessions, p.Connections), marks: p.Tombstones, ttl: defaultTombstoneTTL},
		Kind:     p.Kind,
		Registry: p.Registry,
		ping:     p.Ping,
		close:    p.Close,
		inspect:  p.Inspect,
	}
}

// Inspect returns the name storeKey's session is stored under and its
// remaining time to live in the store (see StoreParts.Inspect).
func (s *Store) Inspect(ctx context.Context, storeKey string) (name string, ttl time.Duration, found bool, err error) {
	if s.inspect == nil {
		return "", 0, false, nil
	}
	return s.inspect(ctx, storeKey)
}

// Ping reports whether the store answers.
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

// Close stops background work and releases connections.
func (s *Store) Close() error { return s.close() }
