package session

import (
	"testing"
	"time"
)

// FuzzCodecDecode: any bytes from the store decode to a session or an
// error, never a panic; what decodes re-encodes to the same bytes.
func FuzzCodecDecode(f *testing.F) {
	c := compactCodec{}
	good, _ := c.Encode(time.Unix(1700000000, 0), map[string]any{"user_id": int64(7), "csrf": "tok", "remember": true})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{codecMagic})
	f.Add([]byte{codecMagic, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		deadline, values, err := c.Decode(b)
		if err != nil || len(b) == 0 || b[0] != codecMagic {
			return // gob or corrupt: an error is the right answer
		}
		again, err := c.Encode(deadline, values)
		if err != nil {
			t.Fatalf("decoded %v, which does not encode again: %v", values, err)
		}
		if _, v2, err := c.Decode(again); err != nil || len(v2) != len(values) {
			t.Fatalf("round trip changed the session: %v → %v (%v)", values, v2, err)
		}
	})
}
