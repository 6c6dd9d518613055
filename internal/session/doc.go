// Package session is where Session Lab's session policy lives: the scs
// manager and its cookie and timeouts (manager.go), the revocation guard
// around the stock scs stores (guard.go, store.go) and the deadline every
// store call honours (bounded.go), the SQL store and its tombstones
// (sqlstore.go), the per-user registry and its SQL implementation
// (registry.go), IP binding (ipbinding.go), the response writer that
// sends no-store and stops a page after a store error (writer.go), the
// compact encoding of session data (codec.go) and the device label on the
// sessions page (device.go). The helpers that change a session's
// privilege — Login, Reauthenticated, Logout, Revoke — are here too, so
// that every token renewal and every destruction happens in one reviewed
// place. The Redis store is assembled in package redisdb from the same
// parts.
package session
