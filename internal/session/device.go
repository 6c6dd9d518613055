package session

import "strings"

// DeviceSummary turns a User-Agent header into a short label such as
// "Firefox on Linux" for the sessions page. It only matches known words,
// so nothing the client sends is echoed beyond a fixed vocabulary.
func DeviceSummary(ua string) string {
	browser := first(ua, []namePattern{
		{"Edge", "Edg/"}, {"Opera", "OPR/"}, {"Chrome", "Chrome/"}, {"Chromium", "Chromium/"},
		{"Firefox", "Firefox/"}, {"Safari", "Safari/"}, {"curl", "curl/"}, {"Go client", "Go-http-client"},
	})
	os := first(ua, []namePattern{
		{"Android", "Android"}, {"iOS", "iPhone"}, {"iOS", "iPad"}, {"Windows", "Windows"},
		{"macOS", "Mac OS X"}, {"ChromeOS", "CrOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return "a browser on " + os
	}
	return "Unknown device"
}

type namePattern struct{ name, pattern string }

func first(ua string, ps []namePattern) string {
	for _, p := range ps {
		if strings.Contains(ua, p.pattern) {
			return p.name
		}
	}
	return ""
}
