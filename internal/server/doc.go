// Package server builds Session Lab's HTTP handler: every route and the
// order of the middleware live in routes.go; handlers are made by
// functions that take their dependencies as arguments.
package server
