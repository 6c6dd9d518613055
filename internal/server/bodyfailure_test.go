package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A body that cannot be read is answered with what went wrong — 413 too
// large, 408 too slow, 400 cut short — never as a CSRF refusal, and nothing
// is stored. One table over the failure kinds, on a server with a short
// read timeout, over raw TLS connections.
func TestBodyFailures_TheRightStatusForEachKind(t *testing.T) {
	b := backends()[0] // sqlite: the store plays no part here
	app := newApp(t, b)
	ts := httptest.NewUnstartedServer(app.handler(appOptions{}))
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c := app.newClient()
	c.get("/login") // the anonymous CSRF cookie and token
	var csrfCookie string
	for _, ck := range c.hc.Jar.Cookies(c.base) {
		if ck.Name == "__Host-csrf" {
			csrfCookie = ck.Name + "=" + ck.Value
		}
	}
	form := "csrf_token=" + c.csrf + "&email=a%40example.com&password=whatever-password"

	tests := []struct {
		name string
		send func(conn *tls.Conn, head string)
		want int
	}{
		{"over the size limit", func(conn *tls.Conn, head string) {
			big := strings.Repeat("a", 1<<20)
			fmt.Fprintf(conn, head, len(big))
			conn.Write([]byte(big))
		}, http.StatusRequestEntityTooLarge},
		{"too slow: half the body, then nothing until the read timeout", func(conn *tls.Conn, head string) {
			fmt.Fprintf(conn, head, len(form))
			conn.Write([]byte(form[:len(form)/2]))
		}, http.StatusRequestTimeout},
		{"cut short: half the body, then the end of the stream", func(conn *tls.Conn, head string) {
			fmt.Fprintf(conn, head, len(form))
			conn.Write([]byte(form[:len(form)/2]))
			conn.CloseWrite()
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			head := "POST /login HTTP/1.1\r\nHost: " + ts.Listener.Addr().String() +
				"\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: " + csrfCookie +
				"\r\nContent-Length: %d\r\n\r\n"
			tt.send(conn, head)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("%d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	var n int
	if err := app.env.db.SQL.QueryRow("SELECT count(*) FROM sessions").Scan(&n); err != nil || n != 0 {
		t.Errorf("sessions stored = %d (err %v), want 0", n, err)
	}
}
