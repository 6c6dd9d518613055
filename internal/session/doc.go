// Package session is where Session Lab's session policy lives: the scs
// manager and its cookie, the idle and absolute timeouts, the choice of
// store (Redis or the SQL database), and the helpers that change a
// session's privilege — Login, Logout — so that every token renewal and
// every destruction happens in one reviewed place.
package session
