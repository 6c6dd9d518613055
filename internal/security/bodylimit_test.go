package security

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A handler behind LimitBody reads a body of MaxFormBytes in full, and
// not one byte more: past the limit the read fails with
// *http.MaxBytesError, which this handler answers 413 as the app does.
func TestLimitBody_ReadsUpToMaxFormBytesAndNoMore(t *testing.T) {
	srv := httptest.NewServer(LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		case err != nil:
			w.WriteHeader(http.StatusBadRequest)
		default:
			io.WriteString(w, strconv.FormatInt(n, 10))
		}
	})))
	defer srv.Close()

	for _, tt := range []struct {
		size   int
		status int
	}{
		{0, http.StatusOK},
		{MaxFormBytes, http.StatusOK},
		{MaxFormBytes + 1, http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(srv.URL, "application/octet-stream", strings.NewReader(strings.Repeat("a", tt.size)))
		if err != nil {
			t.Fatalf("%d bytes: %v", tt.size, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%d bytes: status %d, want %d", tt.size, resp.StatusCode, tt.status)
		}
		if tt.status == http.StatusOK && string(body) != strconv.Itoa(tt.size) {
			t.Errorf("%d bytes: the handler read %s", tt.size, body)
		}
	}
}
