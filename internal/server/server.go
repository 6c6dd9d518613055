package server

import (
	"fmt"
	"github.com/sessionlab/sessionlab/internal/lab/attacker"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/users"
)

// Deps are what the server needs from the outside world, built from the
// configuration by assembly.New. The caller owns them (opens and closes
// them).
type Deps struct {
	Config config.Config
	Logger *slog.Logger
	DB     *database.DB
	Store  *session.Store

	// RateLimitCounter, when set, makes the counter of one named
	// throttling budget (e.g. redisdb.LimitCounter, so every replica
	// shares the counts); nil keeps them in this process's memory.
	RateLimitCounter func(name string) httprate.LimitCounter
	// Stopping, when set and true, makes /healthz answer 503 so a proxy's
	// health check takes this process out of rotation before it closes
	// its listener (SHUTDOWN_DELAY, cmd/web).
	Stopping func() bool
	// SessionHooks let tests stop requests where races happen.
	SessionHooks session.Hooks
	// HashSlots bounds concurrent bcrypt work (required; made by
	// assembly's hashSlots).
	HashSlots *auth.HashSlots
	// HashWorkers, when set, are the processes every bcrypt operation runs
	// in (BCRYPT_WORKERS=process); nil runs bcrypt in this process.
	HashWorkers *auth.Workers
	// Lab, when set, is the attack lab's other site (LAB_ATTACKER_ADDR):
	// the app then offers to plant a token for its fixation attack.
	Lab *attacker.Site
}

// app is the state the handlers share, built once by NewServer.
type app struct {
	cfg         config.Config
	log         *slog.Logger
	db          *database.DB
	users       *users.Repository
	hasher      *auth.Hasher
	slots       *auth.HashSlots // every bcrypt operation runs in one (passwords.go)
	throttle    *auth.Throttle  // login and sign-up budgets (handlers_auth.go)
	sessions    *session.Manager
	anonCSRF    security.AnonCSRF // the login and sign-up forms' token, without a session
	outage      *outageLog        // one log line per outage interval, not per refused request
	hashBusy    *outageLog        // the same for logins turned away with every bcrypt slot busy
	hashWorkers *outageLog        // and for bcrypt worker processes that fail (BCRYPT_WORKERS=process)
	pages       *pages
	stopping    func() bool    // see Deps.Stopping; never nil
	lab         *attacker.Site // nil: no attack lab
}

// NewServer returns the whole application as one http.Handler. It parses
// the templates and prepares the password hasher; an error here must stop
// the program.
func NewServer(deps Deps) (http.Handler, error) {
	if deps.Logger == nil || deps.DB == nil || deps.Store == nil || deps.HashSlots == nil {
		return nil, fmt.Errorf("server: Logger, DB, Store and HashSlots are required")
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	hasher, err := auth.NewHasher(deps.Config.BcryptCost)
	if err != nil {
		return nil, err
	}
	if deps.HashWorkers != nil {
		hasher.UseWorkers(deps.HashWorkers)
	}
	if deps.Stopping == nil {
		deps.Stopping = func() bool { return false }
	}
	log := slog.New(withRequestID(deps.Logger.Handler())) // every line in a request names it
	a := &app{
		cfg:    deps.Config,
		log:    log,
		db:     deps.DB,
		users:  users.NewRepository(deps.DB),
		hasher: hasher,
		pages:  pg,

		anonCSRF:    security.NewAnonCSRF(deps.Config.CookieSecure),
		outage:      &outageLog{log: log, now: time.Now, what: "dependency", level: slog.LevelError},
		hashBusy:    &outageLog{log: log, now: time.Now, what: "password hashing", level: slog.LevelWarn},
		hashWorkers: &outageLog{log: log, now: time.Now, what: "bcrypt worker", level: slog.LevelError},
		stopping:    deps.Stopping,
		lab:         deps.Lab,
		slots:       deps.HashSlots,
	}
	a.throttle = auth.NewThrottle(auth.ThrottleLimits{
		AccountFailures: deps.Config.LoginAccountLimit,
		IPFailures:      deps.Config.LoginIPLimit,
		IPSignups:       deps.Config.SignupIPLimit,
		Window:          deps.Config.ThrottleWindow,
	}, deps.RateLimitCounter)
	a.sessions = session.NewManager(session.Options{
		CookieName:  deps.Config.CookieName(),
		Secure:      deps.Config.CookieSecure,
		IdleTimeout: deps.Config.IdleTimeout,
		Lifetime:    deps.Config.Lifetime,
		MaxSessions: deps.Config.SessionsPerUser,
		Hooks:       deps.SessionHooks,
		SkipRenewal: a.renewalOff(),
	}, deps.Store, a.unavailable) // a store failure is a 503, never a signed-in page
	return a.routes(), nil
}
