package auth

import (
	"fmt"
	"os"
	"testing"
)

// TestMain makes this test binary a bcrypt worker when started as one
// (SelfCommand), as the real binary is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == WorkerCommand {
		if err := ServeWorker(WorkerFiles()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
