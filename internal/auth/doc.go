// Package auth holds Session Lab's password and login policy: how a
// password is validated, hashed with bcrypt and checked, with the dummy
// comparison that keeps login timing the same whether or not an account
// exists (password.go), and how a hash made at a lower cost is upgraded at
// the next login (rehash.go); how many bcrypt operations may run at once
// (hashslots.go), and the bcrypt worker processes they run in (workers.go,
// started at the lower priority set in nice_linux.go); and the throttling
// of logins, sign-ups and re-authentication (throttle.go) over
// sliding-window limits that take a unit before the work they limit
// (limiter.go). The limits count in memory unless given a shared counter
// (package redisdb's, with Redis).
package auth
