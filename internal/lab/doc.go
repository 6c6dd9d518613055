// Package lab holds the content of Session Lab's teaching pages, which
// package server renders: one practice per page (practices.go), each
// saying what it is, why it matters, which standard asks for it, where it
// lives in the code, the "Try it yourself" steps (steps.go) and the live
// evidence from the visitor's own session and request that it is in force;
// and the glossary the pages link to (glossary.go). The attack lab's other
// site is package attacker.
//
// Its tests also hold the code to what the pages and docs say: every
// "Where in the code" reference names code that exists, every
// SECURITY(topic) comment is short and has its row in docs/SECURITY.md,
// and every file a package doc names exists.
package lab
