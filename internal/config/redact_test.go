package config

import "testing"

// Redact is the one masking of a URL or DSN's password, used for
// configuration errors here and for database errors (internal/database).
func TestRedact_MasksEveryPasswordAndNothingElse(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://app:hunter2@db:5432/sl?sslmode=require", "postgres://app:xxxxx@db:5432/sl?sslmode=require"},
		{"redis://:hunter2@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"rediss://alice:hunter2@cache:6380/0", "rediss://alice:xxxxx@cache:6380/0"},
		{"postgres://app:hun@ter2@db/sl", "postgres://app:xxxxx@db/sl"},          // an unescaped @ in the password
		{"postgres://app:hunter2@db:port/sl", "postgres://app:xxxxx@db:port/sl"}, // not a valid URL
		{"postgres://app@db/sl?sslmode=disable&password=hunter2", "postgres://app@db/sl?sslmode=disable&password=xxxxx"},
		{"postgres://app@db/sl?PassWord=hunter2&x=1", "postgres://app@db/sl?PassWord=xxxxx&x=1"},
		{"host=db user=app password='hunter 2' sslpassword=hunter2", "host=db user=app password=xxxxx sslpassword=xxxxx"},
		{"0pAssword=hunter2", "0pAssword=xxxxx"}, // no word boundary before it (found by FuzzLoad)
		// Nothing to mask: unchanged.
		{"postgres://app@db:5432/sl", "postgres://app@db:5432/sl"},
		{"redis://cache:6379/0", "redis://cache:6379/0"},
		{"sqlite:data/sessionlab.db", "sqlite:data/sessionlab.db"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
