package migration

import (
	"context"
	"net"
	"strconv"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// CleartextWarning warns that the endpoint sends passwords unencrypted
// (security none), naming it by role ("source", "target", or "" for just
// "endpoint NAME") and its server; "" when it uses TLS.
func (e *Endpoint) CleartextWarning(role string) string {
	who := "endpoint " + e.Name
	if role != "" {
		who = role + " " + who
	}
	return imapconn.CleartextWarning(e.Security, who, net.JoinHostPort(e.Server, strconv.Itoa(e.Port)),
		e.setting("security"))
}

// CleartextWarnings are the warnings for the endpoints that send passwords
// unencrypted: those of batch (its source, then its target), or every
// endpoint when batch is "". Each endpoint is named once.
func (s *Service) CleartextWarnings(ctx context.Context, batch string) ([]string, error) {
	type use struct {
		e    *Endpoint
		role string
	}
	var uses []use
	if batch == "" {
		eps, err := s.Store.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		for i := range eps {
			uses = append(uses, use{&eps[i], ""})
		}
	} else {
		b, err := s.Batch(ctx, batch)
		if err != nil {
			return nil, err
		}
		for _, u := range []struct{ name, role string }{{b.SourceEndpoint, "source"}, {b.TargetEndpoint, "target"}} {
			e, err := s.Store.Endpoint(ctx, u.name)
			if err != nil {
				return nil, s.notFound("endpoint", u.name, err)
			}
			uses = append(uses, use{e, u.role})
		}
		if b.SourceEndpoint == b.TargetEndpoint {
			uses[0].role, uses = "source and target", uses[:1]
		}
	}
	var out []string
	for _, u := range uses {
		if w := u.e.CleartextWarning(u.role); w != "" {
			out = append(out, w)
		}
	}
	return out, nil
}
