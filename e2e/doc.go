// Package e2e proves Session Lab's session practices in a real browser:
// Debian's Chromium, driven through the DevTools protocol by chromedp,
// against the real application served in-process on a loopback port.
//
// An HTTP client cannot show what a browser does with SameSite, HttpOnly,
// the __Host- prefix, Clear-Site-Data, a Content-Security-Policy or the back
// button; these tests can. Each test types into the forms and clicks as a
// person would, then asserts what the person (or an attacker) observes.
//
// The tests carry the build tag e2e, so `make test` does not start a
// browser; run them with
//
//	make e2e
//
// which needs /usr/bin/chromium (apt-get install chromium) and, for the
// "redis" subtests, Redis on 127.0.0.1:6379 (or TEST_REDIS_URL). Without
// Chromium or Redis the tests skip with one line, except in CI (CI=true),
// where they fail. On failure each test writes a screenshot, the page HTML
// and the server log and prints their paths.
package e2e
