package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

var testValues = map[string]any{"user_id": int64(7), "csrf": "t", "sid": "s", "born": int64(-1), "ip": "127.0.0.1", "device": "d", "__rememberMe": true, "empty": ""}

func TestCompactCodec_SameDataSameBytesAndRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 11, 26, 12, 0, 0, 123, time.UTC)
	first, err := compactCodec{}.Encode(deadline, testValues)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		b, _ := compactCodec{}.Encode(deadline, testValues)
		if !bytes.Equal(b, first) {
			t.Fatal("encoding the same session twice gave different bytes")
		}
	}
	gotDeadline, got, err := compactCodec{}.Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || len(got) != len(testValues) {
		t.Fatalf("round trip: %v %v, want %v %v", gotDeadline, got, deadline, testValues)
	}
	for k, want := range testValues {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
}

func TestCompactCodec_RefusesWhatItCannotKeep(t *testing.T) {
	if _, err := (compactCodec{}).Encode(time.Now(), map[string]any{"x": 1.5}); err == nil {
		t.Error("a float was encoded; it would come back as something else")
	}
	good, _ := compactCodec{}.Encode(time.Now(), testValues)
	for i := 1; i < len(good); i++ {
		if _, _, err := (compactCodec{}).Decode(good[:i]); err == nil {
			t.Fatalf("a session cut to %d of %d bytes decoded without error", i, len(good))
		}
	}
}

func TestCompactCodec_ReadsSessionsSavedWithGob(t *testing.T) {
	deadline := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old, err := scs.GobCodec{}.Encode(deadline, map[string]any{"user_id": int64(3), "csrf": "x"})
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := compactCodec{}.Decode(old)
	if err != nil || !gotDeadline.Equal(deadline) || got["user_id"] != int64(3) || got["csrf"] != "x" {
		t.Errorf("gob session decoded as %v %v (err %v)", gotDeadline, got, err)
	}
}

func FuzzCompactCodec_DecodeNeverPanics(f *testing.F) {
	good, _ := compactCodec{}.Encode(time.Now(), testValues)
	f.Add(good)
	f.Add([]byte{codecMagic, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		compactCodec{}.Decode(b)
	})
}
