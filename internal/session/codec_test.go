package session

import (
	"bytes"
	"testing"
	"time"
)

func TestSortedCodec_SameDataSameBytes(t *testing.T) {
	deadline := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	values := map[string]any{"user_id": int64(7), "csrf": "t", "sid": "s", "born": int64(1), "ip": "127.0.0.1", "device": "d"}
	first, err := sortedCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		b, _ := sortedCodec{}.Encode(deadline, values)
		if !bytes.Equal(b, first) {
			t.Fatal("encoding the same session twice gave different bytes")
		}
	}
	gotDeadline, got, err := sortedCodec{}.Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || len(got) != len(values) || got["user_id"] != int64(7) || got["ip"] != "127.0.0.1" {
		t.Errorf("round trip: %v %v, want %v %v", gotDeadline, got, deadline, values)
	}
}
