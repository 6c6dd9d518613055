package users_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/testenv"
	"github.com/sessionlab/sessionlab/internal/users"
)

// hash stands in for a bcrypt hash: the repository stores it as given.
const hash = "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"

func TestNormalizeEmail_TrimsSpaceAndLowerCases(t *testing.T) {
	tests := []struct{ in, want string }{
		{" Alice@Example.COM ", "alice@example.com"},
		{"\tbob@example.com\n", "bob@example.com"},
		{"carol@example.com", "carol@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := users.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCreate_ThenByEmailReturnsTheSameUser(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		before := time.Now().Add(-2 * time.Second)

		created, err := repo.Create(t.Context(), "alice@example.com", []byte(hash))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if created.ID == 0 {
			t.Error("created user has no ID")
		}
		if created.CreatedAt.Before(before) || created.CreatedAt.After(time.Now().Add(2*time.Second)) {
			t.Errorf("CreatedAt = %v, want about now", created.CreatedAt)
		}

		got, err := repo.ByEmail(t.Context(), "alice@example.com")
		if err != nil {
			t.Fatalf("ByEmail: %v", err)
		}
		if got.ID != created.ID || got.Email != created.Email || string(got.PasswordHash) != hash || !got.CreatedAt.Equal(created.CreatedAt) {
			t.Errorf("ByEmail = %#v (hash %q), want %#v (hash %q)", got, got.PasswordHash, created, hash)
		}
		if n, err := repo.Count(t.Context()); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1, nil", n, err)
		}
	})
}

func TestCreate_StoresTheEmailNormalized(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		created, err := repo.Create(t.Context(), " Alice@Example.COM ", []byte(hash))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if got, want := created.Email, "alice@example.com"; got != want {
			t.Errorf("created Email = %q, want %q", got, want)
		}
		got, err := repo.ByEmail(t.Context(), "ALICE@example.com  ")
		if err != nil {
			t.Fatalf("ByEmail with other case and spacing: %v", err)
		}
		if got.ID != created.ID {
			t.Errorf("ByEmail found user %d, want %d", got.ID, created.ID)
		}
	})
}

func TestCreate_SameEmailInOtherCaseOrSpacingIsTaken(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		if _, err := repo.Create(t.Context(), "alice@example.com", []byte(hash)); err != nil {
			t.Fatalf("Create: %v", err)
		}
		for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "  Alice@example.com\t"} {
			_, err := repo.Create(t.Context(), email, []byte(hash))
			if !errors.Is(err, users.ErrEmailTaken) {
				t.Errorf("Create(%q) error = %v, want ErrEmailTaken", email, err)
			}
		}
		if n, err := repo.Count(t.Context()); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1, nil", n, err)
		}
	})
}

func TestCreate_RacingSignUpsForOneEmailCreateOneUser(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		const racers = 10
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = repo.Create(t.Context(), fmt.Sprintf("%*sbob@example.com", i, ""), []byte(hash))
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, users.ErrEmailTaken):
				t.Errorf("Create: %v, want nil or ErrEmailTaken", err)
			}
		}
		if created != 1 {
			t.Errorf("%d sign-ups succeeded, want 1", created)
		}
	})
}

func TestDatabase_RefusesAnEmailThatIsNotNormalized(t *testing.T) {
	// Defence in depth: code that bypasses the repository cannot create a
	// second account that differs only in case.
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		_, err := db.SQL.ExecContext(t.Context(),
			db.Rebind("INSERT INTO users (email, password_hash) VALUES (?, ?)"), "Alice@example.com", hash)
		if err == nil {
			t.Error("insert of a mixed-case email succeeded, want a CHECK violation")
		}
	})
}

func TestByEmail_UnknownEmailIsNotFound(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		_, err := users.NewRepository(db).ByEmail(t.Context(), "nobody@example.com")
		if !errors.Is(err, users.ErrNotFound) {
			t.Errorf("ByEmail error = %v, want ErrNotFound", err)
		}
	})
}

func TestByID_FindsTheUserAndUnknownIDIsNotFound(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		created, err := repo.Create(t.Context(), "alice@example.com", []byte(hash))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}

		got, err := repo.ByID(t.Context(), created.ID)
		if err != nil {
			t.Fatalf("ByID: %v", err)
		}
		if got.Email != created.Email || string(got.PasswordHash) != hash {
			t.Errorf("ByID = %v, want %v", got, created)
		}

		if _, err := repo.ByID(t.Context(), created.ID+1000); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("ByID(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestUpdatePasswordHash_ReplacesTheHashAndUnknownIDIsNotFound(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		created, err := repo.Create(t.Context(), "alice@example.com", []byte(hash))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		const newHash = "$2a$12$newnewnewnewnewnewnewnewnewnewnewnewnewnewnewnewnewne"

		if err := repo.UpdatePasswordHash(t.Context(), created.ID, []byte(newHash)); err != nil {
			t.Fatalf("UpdatePasswordHash: %v", err)
		}
		got, err := repo.ByID(t.Context(), created.ID)
		if err != nil {
			t.Fatalf("ByID: %v", err)
		}
		if string(got.PasswordHash) != newHash {
			t.Errorf("hash after update = %q, want %q", got.PasswordHash, newHash)
		}

		if err := repo.UpdatePasswordHash(t.Context(), created.ID+1000, []byte(newHash)); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("UpdatePasswordHash(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestDelete_RemovesTheUserAndFreesTheEmailAndUnknownIDIsNotFound(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		repo := users.NewRepository(db)
		created, err := repo.Create(t.Context(), "alice@example.com", []byte(hash))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}

		if err := repo.Delete(t.Context(), created.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := repo.ByID(t.Context(), created.ID); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("ByID after Delete error = %v, want ErrNotFound", err)
		}
		if err := repo.Delete(t.Context(), created.ID); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("second Delete error = %v, want ErrNotFound", err)
		}
		if n, err := repo.Count(t.Context()); err != nil || n != 0 {
			t.Errorf("Count = %d, %v; want 0, nil", n, err)
		}
		// The email is free again.
		if _, err := repo.Create(t.Context(), "alice@example.com", []byte(hash)); err != nil {
			t.Errorf("Create after Delete: %v", err)
		}
	})
}

func TestUser_PrintingOrLoggingNeverShowsThePasswordHash(t *testing.T) {
	u := users.User{ID: 7, Email: "alice@example.com", PasswordHash: []byte(hash), CreatedAt: time.Now()}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("login", "user", u)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("login", "user", u, slog.Any("ptr", &u))
	jsonBytes, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"fmt %v":        fmt.Sprint(u),
		"fmt %+v":       fmt.Sprintf("%+v", u),
		"fmt %#v":       fmt.Sprintf("%#v", u),
		"fmt %v of ptr": fmt.Sprintf("%v", &u),
		//lint:ignore S1025 the %s verb itself is what is under test
		"fmt %s":    fmt.Sprintf("%s", u),
		"slog text": text.String(),
		"slog json": js.String(),
		"json":      string(jsonBytes),
	}
	for name, out := range outputs {
		if strings.Contains(out, hash) || strings.Contains(out, "$2a$") {
			t.Errorf("%s shows the password hash: %s", name, out)
		}
		if !strings.Contains(out, "alice@example.com") {
			t.Errorf("%s does not identify the user: %s", name, out)
		}
	}
}
