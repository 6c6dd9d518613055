// Package users holds the user model and its repository over the SQL
// database (SQLite or PostgreSQL, see package database).
//
// Emails are stored normalized (trimmed, lower-cased, see [NormalizeEmail]),
// so an address is unique whatever its case or surrounding space; the
// schema's CHECK constraint refuses any row that is not normalized. Password
// hashes are stored and returned as they are given: hashing belongs to
// package auth, and the hash never appears in a log line or a formatted
// [User]. Each user has a credential generation that a password change or
// an account deletion bumps ([Repository.ChangePassword],
// [Repository.BumpGeneration]), so that a session authenticated before it
// is no longer valid.
package users
