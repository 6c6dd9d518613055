package server_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/session"
)

// The storage page shows the key the store keeps this session under (the
// hash of the token, never the token) and the time to live the store
// reports for it right now.
func TestStorageEvidence_ShowsTheStoredKeyAndItsTimeToLive(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) { c.IdleTimeout = 7 * time.Minute })
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		key := session.StoreKey(c.token())
		body := html.UnescapeString(c.get("/practices/storage").body)
		if !strings.Contains(body, key) {
			t.Fatalf("the storage page does not show the store key %s", key)
		}
		if b.name == "redis" && !strings.Contains(body, "session:"+key) {
			t.Errorf("on Redis the page does not show the key's full name")
		}
		m := regexp.MustCompile(`The store keeps it for</dt><dd>([0-9hms.]+) more`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no time to live on the storage page")
		}
		ttl, err := time.ParseDuration(m[1])
		if err != nil || ttl <= 0 || ttl > 7*time.Minute {
			t.Errorf("time to live %q, want within (0, 7m] (the idle timeout)", m[1])
		}
	})
}

// The practice pages follow the running configuration: another idle
// timeout, lifetime and IP policy show as such.
func TestPracticeEvidence_FollowsTheConfiguration(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			idle, life time.Duration
			policy     config.IPBinding
		}{
			{30 * time.Minute, 12 * time.Hour, config.IPBindingStrict},
			{3 * time.Minute, 2 * time.Hour, config.IPBindingLog},
		} {
			app := newApp(t, b, func(c *config.Config) {
				c.IdleTimeout, c.Lifetime, c.IPBinding = tc.idle, tc.life, tc.policy
			})
			email, pw := newUser()
			c := app.newClient()
			c.signup(email, pw)
			timeouts := c.get("/practices/timeouts").body
			for _, want := range []string{"<dt>Idle timeout</dt><dd>" + tc.idle.String() + "</dd>", "<dt>Absolute lifetime</dt><dd>" + tc.life.String() + "</dd>"} {
				if !strings.Contains(timeouts, want) {
					t.Errorf("idle %v, lifetime %v: the timeouts page lacks %s", tc.idle, tc.life, want)
				}
			}
			if ip := c.get("/practices/ip-binding").body; !strings.Contains(ip, "<dt>Policy</dt><dd>"+string(tc.policy)+"</dd>") {
				t.Errorf("policy %s: the IP binding page does not show it", tc.policy)
			}
			if profile := c.get("/profile").body; !strings.Contains(profile, "policy <code>"+string(tc.policy)+"</code>") {
				t.Errorf("policy %s: the profile does not show it", tc.policy)
			}
		}
	})
}
