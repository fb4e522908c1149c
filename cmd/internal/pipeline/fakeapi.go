package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

// FakeAPIOptions are `fake-api`'s flags: the simulated tenant to serve.
type FakeAPIOptions struct {
	Addr                        string
	Calls, Customers            int
	Seed                        int64
	UtterancesPerCall           int
	Latency, Processing, AI     time.Duration // Processing 0: the tenant's default
	RateLimit                   float64
	Faults, Token, CustomersCSV string
	Log                         io.Writer // the server's messages
}

// ServeFakeAPI serves the simulated tenant the options describe until ctx
// ends, first writing its customer list to CustomersCSV if named. Bad
// options are a *config.Error (exit 2).
func ServeFakeAPI(ctx context.Context, o FakeAPIOptions) error {
	faults, err := chorustest.ParseFaults(o.Faults)
	if err != nil {
		return &config.Error{Msg: fmt.Sprintf("--faults: %v", err)}
	}
	if o.Calls < 1 || o.Customers < 1 || o.RateLimit < 0 {
		return &config.Error{Msg: "--calls and --customers must be at least 1 and --rate-limit not negative"}
	}
	processing := o.Processing
	if processing == 0 {
		processing = -1 // the tenant's zero means its default
	}
	tenant := chorustest.New(chorustest.Options{
		Seed: o.Seed, Calls: o.Calls, Customers: o.Customers, UtterancesPerCall: o.UtterancesPerCall, Latency: o.Latency,
		ProcessingDelay: processing, AIDelay: o.AI, RateLimit: o.RateLimit, Faults: faults, Token: o.Token,
	})
	if o.CustomersCSV != "" {
		if err := WriteCustomersCSV(tenant, o.CustomersCSV); err != nil {
			return err
		}
	}
	return chorustest.ServeTenant(ctx, o.Addr, tenant, o.Log)
}
