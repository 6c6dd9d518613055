package session

import "net/http"

// guardWriter sits outside scs's LoadAndSave. It does two things every
// session response needs:
//   - it forces Cache-Control: no-store when the status is written, over
//     scs's own `no-cache="Set-Cookie"`;
//   - once sealed (after a store error has been answered) it drops
//     everything the handler still writes, because scs reports a failed
//     save from inside the handler's first write and would otherwise let
//     the rest of the page follow its 503.
type guardWriter struct {
	http.ResponseWriter
	sealed      bool
	wroteHeader bool
	// beforeHeader, when set, adjusts the headers once, just before they
	// are sent (the remembered cookie's lifetime, manager.go).
	beforeHeader func(http.Header)
}

// finish runs beforeHeader once.
func (g *guardWriter) finish() {
	if f := g.beforeHeader; f != nil {
		g.beforeHeader = nil
		f(g.Header())
	}
}

// SECURITY(logout): a page that reads or writes the session is not stored
// by the browser or a proxy, so after logout Back cannot show it — ASVS 5.0
// 14.3.2.
func (g *guardWriter) WriteHeader(code int) {
	if g.sealed || g.wroteHeader {
		return
	}
	g.wroteHeader = true
	g.finish()
	g.Header().Set("Cache-Control", "no-store")
	g.ResponseWriter.WriteHeader(code)
}

func (g *guardWriter) Write(b []byte) (int, error) {
	if g.sealed {
		return len(b), nil
	}
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	return g.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (g *guardWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// seal stops all further output through w, if w is a guardWriter.
func seal(w http.ResponseWriter) {
	if g, ok := w.(*guardWriter); ok {
		g.sealed = true
	}
}
