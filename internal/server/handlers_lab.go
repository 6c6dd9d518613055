package server

import "net/http"

// labPlantPost plants a session token of the attacker's in the visitor's
// browser — what a sibling subdomain or an injected script could do — and
// hands it to the attacker site, which later tries to use it. At login the
// app renews the token and deletes the planted one from the store (the
// fixation practice shows both).
//
// SECURITY(fixation): served only when LAB_ATTACKER_ADDR turns the lab on,
// only to anonymous visitors (a planted cookie would replace a signed-in
// one), behind the same CSRF checks as every form — ASVS 5.0 7.2.4.
func (a *app) labPlantPost(w http.ResponseWriter, r *http.Request) {
	// A real token, issued by the app to the attacker (as any site that
	// gives visitors a session would), planted in the learner's browser
	// (scs writes the cookie at the end of this request).
	token, err := a.sessions.IssueAnonymous(r.Context())
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.lab.Plant(token)
	a.securityEvent(r, "lab.token_planted")
	http.Redirect(w, r, "/practices/fixation", http.StatusSeeOther)
}
