// Package server builds Session Lab's HTTP handler. NewServer (server.go)
// assembles it from Deps; every route and the order of the middleware
// live in routes.go; handlers are methods on *app, one file per area
// (handlers_*.go). Beside them: the middleware (middleware.go), page
// rendering and the data every template gets (render.go), error pages and
// the status each failure gets (errors.go), the security event log
// (events.go), bcrypt work in bounded slots and the hash upgrade at login
// (passwords.go), the one-time notices a redirect leaves without a session
// (notice.go), the outage log that counts refused requests instead of
// logging each (outagelog.go), and the contrast build's switches, compiled
// in only with the build tag contrast (contrast_on.go; contrast_off.go is
// the default build, every defence on).
package server
