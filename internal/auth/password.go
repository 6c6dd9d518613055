package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

const (
	// MinPasswordChars is the shortest password accepted at signup: a
	// documented choice for a demo, since 6.2.1 strongly recommends 15 and
	// NIST SP 800-63B-4 §3.1.1.2 asks 15 for a password used alone.
	//
	// SECURITY(passwords): at least 8 characters and no composition
	// rules — ASVS 5.0 6.2.1, 6.2.5.
	MinPasswordChars = 8

	// MaxPasswordBytes is bcrypt's input limit:
	// bcrypt.CompareHashAndPassword silently ignores everything past 72
	// bytes while GenerateFromPassword refuses it. This misses ASVS 5.0
	// 6.2.9 (64 characters allowed) for non-ASCII text: 72 bytes is 36
	// Cyrillic or 24 CJK characters. An HMAC pre-hash or Argon2id would
	// lift the limit.
	//
	// SECURITY(passwords): a longer password is refused at signup and at
	// login, never truncated, so it is verified exactly as received —
	// ASVS 5.0 6.2.8.
	MaxPasswordBytes = 72
)

// PasswordError is a refusal written for the person filling in the form:
// its text is safe to show on the page.
type PasswordError string

func (e PasswordError) Error() string { return string(e) }

const (
	// ErrPasswordTooShort is returned for a new password under MinPasswordChars.
	ErrPasswordTooShort PasswordError = "Use at least 8 characters."
	// ErrPasswordTooLong is returned for any password over MaxPasswordBytes.
	ErrPasswordTooLong PasswordError = "Passwords are limited to 72 bytes (bcrypt's limit) and this one is longer: choose a shorter one."
)

// ValidateNew checks a password chosen at signup or at a password change.
// The messages are written for the person filling in the form.
func ValidateNew(password string) error {
	if err := ValidateLength(password); err != nil {
		return err
	}
	if utf8.RuneCountInString(password) < MinPasswordChars {
		return ErrPasswordTooShort
	}
	return nil
}

// ValidateLength refuses a password bcrypt could not check in full. It
// applies at login too, where the length says nothing about any account.
func ValidateLength(password string) error {
	if len(password) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	return nil
}

// Hasher hashes and checks passwords with bcrypt at a fixed cost.
type Hasher struct {
	cost  int
	dummy []byte

	mu      sync.Mutex
	padding map[int][]byte // dummy hashes at costs below cost, made on first use

	// compare and generate are bcrypt's CompareHashAndPassword and
	// GenerateFromPassword, or the same in worker processes (UseWorkers);
	// a test wraps compare to count the work each check does.
	compare  func(ctx context.Context, hash, password []byte) error
	generate func(ctx context.Context, password []byte, cost int) ([]byte, error)
}

// compareInProcess and generateInProcess are bcrypt's own functions, which
// take no context: a hash in this process runs to its end.
func compareInProcess(_ context.Context, hash, password []byte) error {
	return bcrypt.CompareHashAndPassword(hash, password)
}

func generateInProcess(_ context.Context, password []byte, cost int) ([]byte, error) {
	return bcrypt.GenerateFromPassword(password, cost)
}

// NewHasher returns a Hasher for the cost (bcrypt.MinCost..bcrypt.MaxCost;
// config refuses anything under 10). It computes the dummy hash once, at the
// same cost, so that checking an unknown email costs what a real check costs.
func NewHasher(cost int) (*Hasher, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d out of range", cost)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("session-lab dummy password"), cost)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	return &Hasher{cost: cost, dummy: dummy, compare: compareInProcess, generate: generateInProcess}, nil
}

// UseWorkers makes every hash and check from now on run in w's processes,
// the padding hashes included (the dummy hash is already made). Call it
// before the Hasher is used.
func (h *Hasher) UseWorkers(w *Workers) {
	h.compare, h.generate = w.Compare, w.Generate
}

// Cost is the bcrypt cost new hashes are made with.
func (h *Hasher) Cost() int { return h.cost }

// Hash returns the bcrypt hash of password.
//
// SECURITY(passwords): bcrypt with a per-hash salt and a configurable cost
// (default 12, never under 10) — ASVS 5.0 11.4.2.
func (h *Hasher) Hash(ctx context.Context, password string) ([]byte, error) {
	if err := ValidateLength(password); err != nil {
		return nil, err
	}
	hash, err := h.generate(ctx, []byte(password), h.cost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	return hash, nil
}

// Check reports whether password matches hash. A nil hash (no such user)
// is compared against the dummy hash and always reports false. With
// workers, ctx bounds the work; in this process it runs to its end.
//
// SECURITY(passwords): an unknown email still pays for one bcrypt
// comparison, so response time does not tell who has an account —
// ASVS 5.0 6.3.8.
func (h *Hasher) Check(ctx context.Context, hash []byte, password string) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, ErrPasswordTooLong
	}
	target := hash
	if target == nil {
		target = h.dummy
	}
	err := h.compare(ctx, target, []byte(password))
	if hash != nil && (err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)) {
		h.pad(ctx, hash) // after a failure the answer is an error page: nothing to time
	}
	switch {
	case err == nil:
		return hash != nil, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("bcrypt compare: %w", err)
	}
}

// pad makes a check against a hash of a lower cost take as long as one at
// the configured cost: bcrypt's work doubles with each cost step, so after
// the real comparison at cost c it compares against dummy hashes at costs
// c, c+1, …, cost−1 — 2^c + (2^c + … + 2^(cost−1)) = 2^cost.
//
// SECURITY(passwords): after BCRYPT_COST is raised, an account whose hash
// is at the old cost would answer faster than an unknown email (checked
// against the dummy at the new cost), telling who has one — ASVS 5.0 6.3.8.
func (h *Hasher) pad(ctx context.Context, hash []byte) {
	c, err := bcrypt.Cost(hash)
	if err != nil || c >= h.cost {
		return
	}
	for k := c; k < h.cost && ctx.Err() == nil; k++ {
		h.compare(ctx, h.paddingHash(ctx, k), []byte("session-lab padding"))
	}
}

// paddingHash is a dummy hash at cost, made once (in a worker with them).
func (h *Hasher) paddingHash(ctx context.Context, cost int) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.padding == nil {
		h.padding = map[int][]byte{}
	}
	if d, ok := h.padding[cost]; ok {
		return d
	}
	d, err := h.generate(ctx, []byte("session-lab dummy password"), cost)
	if err != nil {
		return h.dummy
	}
	h.padding[cost] = d
	return d
}
