package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/users"
)

// Every bcrypt operation of the app goes through checkPassword or
// hashPassword, so that it runs in one of the bounded hashing slots
// (auth.HashSlots). Both return auth.ErrBusy when no slot came free in
// time: answer it with a.passwordError (503 and Retry-After).

// checkPassword compares password with hash in a hashing slot. A nil hash
// (no such user) is compared against the dummy hash, in a slot too, so an
// unknown email costs and waits exactly what a real one does.
func (a *app) checkPassword(ctx context.Context, hash []byte, password string) (ok bool, err error) {
	if slotErr := a.slots.Do(ctx, func() { ok, err = a.hasher.Check(ctx, hash, password) }); slotErr != nil {
		return false, slotErr
	}
	a.hashBusy.ok(ctx)
	a.hashWorkersOK(ctx, err)
	return ok, err
}

// hashPassword hashes password at the configured cost in a hashing slot.
func (a *app) hashPassword(ctx context.Context, password string) (hash []byte, err error) {
	if slotErr := a.slots.Do(ctx, func() { hash, err = a.hasher.Hash(ctx, password) }); slotErr != nil {
		return nil, slotErr
	}
	a.hashBusy.ok(ctx)
	a.hashWorkersOK(ctx, err)
	return hash, err
}

// hashWorkersOK ends an outage of the bcrypt workers once an operation
// got an answer from one again.
func (a *app) hashWorkersOK(ctx context.Context, err error) {
	if !errors.Is(err, auth.ErrHashWorker) {
		a.hashWorkers.ok(ctx)
	}
}

// passwordError answers an error from checkPassword or hashPassword.
func (a *app) passwordError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrBusy):
		a.hashingBusy(w, r)
	case errors.Is(err, auth.ErrHashWorker):
		// A worker that could not be started, died or did not answer in
		// time: a dependency down, logged as its own outage.
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client left; nothing to answer
		}
		a.hashWorkers.failed(r.Context(), err)
		a.serviceUnavailable(w, r)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		a.unavailable(w, r, err) // says nothing to a client that left
	default:
		a.serverError(w, r, err)
	}
}

// upgradeHash replaces u's hash after a successful login when it was made
// at a lower cost than BCRYPT_COST. It never fails the login: with every
// slot busy, or the database failing, the old hash stays and the upgrade
// happens at a later login.
//
// SECURITY(passwords): raising BCRYPT_COST upgrades each hash at its
// owner's next login (auth.Hasher.NeedsRehash) — ASVS 5.0 11.4.2.
func (a *app) upgradeHash(r *http.Request, u users.User, password string) {
	if !a.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	ctx := r.Context()
	hash, err := a.hashPassword(ctx, password)
	if err == nil {
		err = a.users.UpdatePasswordHash(ctx, u.ID, hash)
	}
	if err != nil {
		a.log.WarnContext(ctx, "password rehash postponed", slog.Int64("user_id", u.ID), slog.Any("err", err))
		return
	}
	from, _ := bcrypt.Cost(u.PasswordHash)
	a.securityEvent(r, "password.rehash", slog.Int64("user_id", u.ID), slog.Int("from_cost", from), slog.Int("to_cost", a.hasher.Cost()))
}
