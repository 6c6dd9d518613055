// Package server builds Session Lab's HTTP handler. NewServer (server.go)
// assembles it; every route and the order of the middleware live in
// routes.go; handlers are methods on *app, one file per area
// (handlers_*.go). Beside them: the middleware (middleware.go), error
// pages and the status each failure gets (errors.go), the one-time notices
// a redirect leaves without a session (notice.go) and the outage log that
// counts refused requests instead of logging each (outagelog.go).
package server
