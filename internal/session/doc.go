// Package session is where Session Lab's session policy lives: the scs
// manager and its cookie and timeouts (manager.go), the revocation guard
// around the stock scs stores (guard.go, store.go), the SQL store and its
// tombstones (sqlstore.go), the per-user registry (registry.go), IP
// binding (ipbinding.go), and the helpers that change a session's
// privilege — Login, Reauthenticated, Logout, Revoke — so that every token
// renewal and every destruction happens in one reviewed place. The Redis
// store is assembled in package redisdb from the same parts.
package session
