package client_test

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
)

const fmtToken = "fmt-PLANTED-token-5e2c"

// TestNoVerbRendersTheToken formats every value that holds the token, or
// holds something that does, with every verb, alone and nested, and
// searches the text for the token as it is and hex-encoded (%x of a raw
// string field would print that).
func TestNoVerbRendersTheToken(t *testing.T) {
	cfg, err := config.Parse([]byte(fmt.Sprintf(`{"api_token":%q,"base_url":"https://acme.chorus.ai"}`, fmtToken)), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(cfg, client.Options{})
	values := []struct {
		name string
		v    any
	}{
		{"Secret", cfg.APIToken},
		{"*Secret", &cfg.APIToken},
		{"*Config", cfg},
		{"Config", *cfg},
		{"*Client", c},
		// A Client value (fmt reaches it through reflection; copying one
		// would copy its mutex).
		{"Client value", reflect.ValueOf(c).Elem()},
		{"client.Options", client.Options{Backoff: time.Second}},
		{"engine.Options", engine.Options{Config: cfg}},
		{"*engine.Options", &engine.Options{Config: cfg}},
		{"connector.ExtractOptions", connector.ExtractOptions{Config: cfg}},
		{"[]any", []any{cfg.APIToken, cfg, *cfg, c}},
		{"map", map[string]any{"token": cfg.APIToken, "config": *cfg, "client": c}},
		{"struct with exported fields", struct {
			Token  config.Secret
			Config config.Config
			Client *client.Client
		}{cfg.APIToken, *cfg, c}},
		{"error wrapping", fmt.Errorf("client %v, config %v: %w", c, cfg, &config.Error{Msg: "x"})},
	}
	leaks := []string{fmtToken, hex.EncodeToString([]byte(fmtToken)), strings.ToUpper(hex.EncodeToString([]byte(fmtToken)))}
	for _, v := range values {
		// The verbs asked for, then a few fmt gives up on (it then prints
		// the value field by field, every method off).
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%d", "%+q", "%#x", "% x", "%10.4s"} {
			s := fmt.Sprintf(verb, v.v)
			for _, l := range leaks {
				if strings.Contains(s, l) {
					t.Errorf("%s of %s shows the token: %s", verb, v.name, s)
					break
				}
			}
		}
	}
	// The redaction is visible, not an empty string.
	if s := fmt.Sprintf("%v %#v", cfg.APIToken, c); !strings.Contains(s, "[redacted]") && !strings.Contains(s, "chorus client") {
		t.Errorf("no redaction marker: %s", s)
	}
}
