package server

import (
	"testing"
	"time"
)

func TestAgo_LargestWholeUnit(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0:                               "just now",
		59 * time.Second:                "just now",
		time.Minute:                     "1 min ago",
		59*time.Minute + 59*time.Second: "59 min ago",
		time.Hour:                       "1 h ago",
		47 * time.Hour:                  "47 h ago",
		48 * time.Hour:                  "2 days ago",
		-time.Minute:                    "just now", // a clock a little ahead
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}
