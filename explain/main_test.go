package explain

import (
	"os"
	"testing"
)

// TestMain reads the catalogs before any test: some tests reach the
// languages' tables directly, as the exported functions do after loaded.
func TestMain(m *testing.M) {
	loaded()
	os.Exit(m.Run())
}
