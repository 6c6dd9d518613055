// Package config reads Session Lab's configuration from the environment.
//
// Every knob has a default that is safe to deploy as it is: Secure
// __Host- cookies, a 30-minute idle timeout inside a 12-hour absolute
// lifetime, strict IP binding, bcrypt cost 12, no trusted proxies and a
// loopback listen address. [Load] applies those defaults, validates every
// value and refuses unsafe combinations (an idle timeout longer than the
// lifetime, insecure cookies on an HTTPS server, a bcrypt cost below 10).
// It reports every problem at once, each naming the variable and its value,
// so that one failed start is enough to fix the whole environment.
//
// Load never reads the process environment itself: it takes a getenv
// function, so main passes os.Getenv and tests pass a map.
//
// Security decisions are tagged `// SECURITY(topic):`, topic being the slug
// of the practice page that explains them (/practices/{slug}) or one of the
// few others docs/SECURITY.md lists, with each topic's standards; list them
// with
//
//	grep -rn 'SECURITY(' internal/config
package config
