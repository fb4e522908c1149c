package pipeline

import (
	"fmt"

	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// TransformInputs are the transform's flags as given.
type TransformInputs struct {
	CustomersFile, CustomersTable, SignalsFile, AsOf string
	SellerDomains                                    []string
	DefaultDueDays                                   int
}

// ReadTransformInputs reads the files the flags name into runner options;
// cfg (may be nil) supplies customers_table. Bad files are *config.Error
// (exit 2); nothing has been changed then.
func ReadTransformInputs(in TransformInputs, cfg *config.Config) (transforms.Options, error) {
	opt := transforms.Options{CustomersTable: in.CustomersTable, SellerDomains: in.SellerDomains, DefaultDueDays: in.DefaultDueDays}
	usage := func(err error) error { return &config.Error{Msg: err.Error()} }
	if in.CustomersFile != "" {
		if opt.CustomersTable != "" {
			return opt, &config.Error{Msg: "give --customers FILE or --customers-table TABLE, not both"}
		}
		cs, err := transforms.ReadCustomersFile(in.CustomersFile)
		if err != nil {
			return opt, usage(err)
		}
		opt.Customers = cs
	}
	if opt.Customers == nil && opt.CustomersTable == "" && cfg != nil {
		opt.CustomersTable = cfg.CustomersTable
	}
	if in.SignalsFile != "" {
		s, err := transforms.ReadSignalsFile(in.SignalsFile)
		if err != nil {
			return opt, usage(err)
		}
		opt.Signals = s
	}
	if in.AsOf != "" {
		t, err := config.ParseDate(in.AsOf)
		if err != nil {
			return opt, usage(fmt.Errorf("--as-of: %w", err))
		}
		opt.AsOf = t
	}
	return opt, nil
}
