package migration_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// TestErrorClasses: a refused request is a *ValidationError (as the CLI
// shows it) that also says its class, for the REST API's 404 and 409.
func TestErrorClasses(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	_, err := e.svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "old", Server: "x"}, SkipVerify: true})
	exists := err
	_, _, batchExists := e.svc.NewBatch(ctx, migration.BatchParams{Name: "b1", Source: "old", Target: "new",
		CSV: strings.NewReader("EmailAddress,UserName,Password\r\nz@x.example,z,Pw-Z-Secret\r\n")})
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	none := []string{}
	_, setStarted := e.svc.SetBatch(ctx, "b1", migration.BatchSettings{ExcludeFolders: &none})
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"unknown batch", e.svc.StartBatch(ctx, "nope"), migration.ErrNotFound},
		{"unknown endpoint", e.svc.RemoveEndpoint(ctx, "nope"), migration.ErrNotFound},
		{"endpoint exists", exists, migration.ErrExists},
		{"batch exists", batchExists, migration.ErrExists},
		{"endpoint in use", e.svc.RemoveEndpoint(ctx, "old"), migration.ErrInUse},
		{"stop a created batch", e.svc.StopBatch(ctx, "b2"), migration.ErrState},
		{"complete a created batch", e.svc.CompleteBatch(ctx, "b2"), migration.ErrState},
		{"set a started batch", setStarted, migration.ErrState},
	} {
		var ve *migration.ValidationError
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &ve) {
			t.Errorf("%s: %v, want a *ValidationError of class %v", c.name, c.err, c.want)
		}
	}
	if _, err := e.svc.Endpoints(ctx, "old"); err != nil {
		t.Fatal(err)
	}
}
