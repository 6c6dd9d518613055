package auth

import "golang.org/x/crypto/bcrypt"

// NeedsRehash reports whether hash was made at a lower cost than the
// Hasher's, so it should be replaced after the next successful login (the
// only moment the plain password is at hand). A hash at a higher cost is
// kept: lowering BCRYPT_COST never weakens stored hashes.
//
// SECURITY(passwords): raising BCRYPT_COST upgrades every active user's
// hash as they log in — ASVS 5.0 11.4.2.
func (h *Hasher) NeedsRehash(hash []byte) bool {
	cost, err := bcrypt.Cost(hash)
	return err == nil && cost < h.cost
}
