// Package auth holds the password rules of Session Lab: how a password is
// validated, hashed with bcrypt and checked, including the dummy comparison
// that keeps login timing the same whether or not an account exists.
package auth
