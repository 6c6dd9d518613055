// Package lab holds Session Lab's teaching pages: one practice per page,
// each saying what it is, why it matters, which standard asks for it,
// where it lives in the code, and the live evidence from the visitor's own
// session and request that it is in force.
package lab
