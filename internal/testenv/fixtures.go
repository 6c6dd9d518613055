package testenv

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
)

// NewUser returns a fresh email address and a random password for it.
func NewUser() (email, password string) {
	b := make([]byte, 9)
	rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	return "user-" + strings.ToLower(s[:8]) + "@example.com", "pw-" + s
}

// MadeUpToken looks like a session token the app issues (32 random bytes,
// base64url) but was never issued.
func MadeUpToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SyncBuffer is a bytes.Buffer safe for a server's log writes and a test's
// reads at the same time.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ListeningAddr is the address in the app's JSON "listening" log line
// within logs, or "" while there is none.
func ListeningAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
			return rec.Addr
		}
	}
	return ""
}
