// Package redisdb holds everything Session Lab keeps in Redis, on one
// redigo pool: the pool itself (pool.go), the session store — scs's stock
// redisstore behind the revocation guard (store.go) — the per-user session
// registry (registry.go), the tombstones of ended sessions
// (tombstones.go) and the shared login-throttling counter
// (limitcounter.go). No other package of the app imports redigo (tests,
// internal/testenv and cmd/bench do, to set up and measure Redis).
//
// Every key it writes starts with the namespace (DefaultNamespace in
// production, a random one per test) and expires. docs/REDIS-CLUSTER.md
// lists the keys, the operations that touch several at once, and what a
// Redis Cluster would need (it is not supported: one primary).
package redisdb
