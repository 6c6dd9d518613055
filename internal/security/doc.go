// Package security holds the HTTP-level defences that are not about the
// session itself: cross-site request forgery checks and request size
// limits. Each concern has its own file and its own test.
package security
