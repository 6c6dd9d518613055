package lab

// Term is one glossary entry; Slug is its anchor on /glossary.
type Term struct {
	Slug, Name, Definition string
}

// Glossary defines the words the practice pages use, in the order the
// glossary page lists them. Pairs that are easily confused (site and
// origin, token and store key, fixation, hijacking and session riding)
// sit next to each other.
var Glossary = []Term{
	{"origin", "Origin",
		"Scheme, host and port together: https://app.example.com:443. Two URLs are same-origin only when all three match. " +
			"Sec-Fetch-Site: same-origin says the request came from a page of exactly this origin; it is what CrossOriginProtection lets through."},
	{"site", "Site",
		"A scheme plus a registrable domain: https://app.example.com and https://blog.example.com are the same site (https, example.com) but two origins. " +
			"SameSite cookie rules and Sec-Fetch-Site: same-site are about the site, so a sibling subdomain is same-site — SameSite does not keep the cookie from it."},
	{"registrable-domain", "Registrable domain",
		"The part of a host name that one party can register: one label under a public suffix from the Public Suffix List — example.com, or example.co.uk since co.uk is a public suffix. " +
			"Every host under it shares the site. Clear-Site-Data: \"cookies\" clears the cookies of the whole registrable domain, subdomains included."},
	{"secure-context", "Secure context",
		"A page served over HTTPS, or from http://localhost or a loopback address. Browsers keep some features, Clear-Site-Data among them, to secure contexts; Chromium and Firefox also store and send Secure cookies from http://localhost."},
	{"token", "Session token",
		"The secret the browser holds: here 32 random bytes from crypto/rand, base64url-encoded in the session cookie. Whoever presents it is the session, so it appears in no page, URL or log."},
	{"store-key", "Store key",
		"What the server files the session under: here SHA-256 of the token. A store key read from a dump cannot be turned back into a token, so it cannot be replayed as a cookie. " +
			"The short ids these pages show are prefixes of it, never of the token."},
	{"browser-session-cookie", "Browser-session cookie",
		"A cookie with no Max-Age and no Expires, also called non-persistent. The browser drops it when the browser session ends — except that a browser restoring the previous session at start-up keeps it. " +
			"Not to be confused with \"the session cookie\", the cookie that carries the session token."},
	{"persistent-cookie", "Persistent cookie",
		"A cookie with Max-Age (which wins) or Expires: kept, on disk, until then. The lifetime tells the browser how long to keep it; it is not a timeout — the server's deadlines decide when the session ends."},
	{"session-fixation", "Session fixation",
		"The attacker chooses the victim's session token before the victim logs in (by planting a cookie, from a sibling subdomain or over plain HTTP), then uses the same token once the victim is signed in. " +
			"Defeated by a new token at login and by never adopting a token the server did not issue."},
	{"session-hijacking", "Session hijacking",
		"The attacker obtains a token the victim already uses — from the device, a log, the network — and replays it. " +
			"Nothing defeats it outright: short server-side deadlines, revocation, IP binding and keeping the token out of URLs and logs limit what a copy is worth."},
	{"session-riding", "Session riding (CSRF)",
		"Another name for cross-site request forgery: the attacker never sees the token, but makes the victim's browser send a request that carries the cookie. " +
			"Defeated by the cross-origin check, SameSite and the synchronizer token."},
	{"synchronizer-token", "Synchronizer token",
		"A random value kept in the server-side session and written into every form; a state-changing request must send it back, and it must match (compared in constant time). " +
			"Another site cannot read it, so it cannot forge the request."},
	{"fetch-metadata", "Fetch Metadata",
		"Request headers the browser sets and a page cannot: Sec-Fetch-Site (same-origin, same-site, cross-site, or none for a typed URL or a bookmark), Sec-Fetch-Mode, Sec-Fetch-Dest and Sec-Fetch-User. " +
			"net/http's CrossOriginProtection reads Sec-Fetch-Site."},
	{"idle-timeout", "Idle timeout",
		"How long a session survives without a request. It ends forgotten sessions, but not a stolen one that the attacker keeps busy."},
	{"absolute-timeout", "Absolute timeout (lifetime)",
		"How long a session lasts after sign-in, whatever the activity: the only bound on how long a stolen token stays useful."},
	{"renewal-timeout", "Renewal timeout",
		"A period after which the session's token is replaced mid-session, whatever the activity, so an old copy stops working. " +
			"Session Lab replaces the token at login, re-authentication and password change, not on a timer."},
	{"tombstone", "Tombstone",
		"A short-lived record that a session was ended, written before the session is deleted. A request still in flight checks it after saving, and undoes its save, so an ended session stays ended."},
	{"password-spraying", "Password spraying",
		"A few common passwords tried against many accounts, so each account sees few failures. From one IP, a per-IP limit slows it."},
	{"credential-stuffing", "Credential stuffing",
		"Email and password pairs leaked from other sites, tried once each, usually from many IPs. Neither a per-account nor a per-IP limit slows it much; refusing known-breached passwords and a second factor help more."},
}

// FindTerm reports whether slug names a glossary entry.
func FindTerm(slug string) (Term, bool) {
	for _, t := range Glossary {
		if t.Slug == slug {
			return t, true
		}
	}
	return Term{}, false
}

// TermList returns the glossary entries the practice links to, in its
// order; a slug with no entry is left out (a test keeps there being none).
func (p Practice) TermList() []Term {
	var terms []Term
	for _, slug := range p.Terms {
		if t, ok := FindTerm(slug); ok {
			terms = append(terms, t)
		}
	}
	return terms
}
