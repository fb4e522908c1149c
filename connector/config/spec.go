package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// key is one configuration key as Config's tags describe it.
type key struct {
	name, doc, show string
	typ             any // JSON Schema type: a string, or a list of them
	def             json.RawMessage
	field           reflect.StructField
}

// keys reads Config's tags, in field order.
func keys() []key {
	var out []key
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		k := key{name: name, doc: f.Tag.Get("doc"), show: f.Tag.Get("show"), field: f}
		if d := f.Tag.Get("default"); d != "" {
			k.def = json.RawMessage(d)
		}
		switch ft := f.Type; {
		case ft == reflect.TypeOf(Duration{}):
			k.typ = []string{"string", "number"}
		case ft.Kind() == reflect.Pointer:
			k.typ = jsonType(ft.Elem().Kind())
		default:
			k.typ = jsonType(ft.Kind())
		}
		out = append(out, k)
	}
	return out
}

func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	}
	return "string"
}

var (
	codeSpan = regexp.MustCompile(`\{([^{}]+)\}`)
	mdLink   = regexp.MustCompile(`\[([^\]]+)\]\(#[^)]*\)`)
)

// Spec is the configuration's JSON Schema (draft-07), the Airbyte
// connectionSpecification.
func Spec() map[string]any {
	props := map[string]any{}
	for i, k := range keys() {
		p := map[string]any{"type": k.typ, "description": plain(k.doc), "order": i}
		if k.def != nil {
			p["default"] = k.def
		}
		for _, c := range []struct{ tag, key string }{{"min", "minimum"}, {"max", "maximum"}, {"gt", "exclusiveMinimum"}} {
			if v := k.field.Tag.Get(c.tag); v != "" {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					panic(fmt.Sprintf("config: %s: %s=%q is not a number", k.name, c.tag, v))
				}
				p[c.key] = n
			}
		}
		if v := k.field.Tag.Get("enum"); v != "" {
			p["enum"] = strings.Split(v, ",")
		}
		if v := k.field.Tag.Get("examples"); v != "" {
			p["examples"] = strings.Split(v, ",")
		}
		if k.field.Tag.Get("secret") == "true" {
			p["airbyte_secret"] = true
		}
		props[k.name] = p
	}
	return map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"title":                "Chorus (ZoomInfo) source",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
}

// plain renders a doc tag without its Markdown.
func plain(doc string) string {
	return codeSpan.ReplaceAllString(mdLink.ReplaceAllString(doc, "$1"), "$1")
}

// MarkdownTable is the README's table of configuration keys.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n| --- | --- | --- |\n")
	for _, k := range keys() {
		def := k.show
		switch {
		case def != "":
		case k.def == nil:
			def = "—"
		default:
			var v any
			_ = json.Unmarshal(k.def, &v)
			def = fmt.Sprint(v)
			if _, isString := v.(string); isString || v == false {
				def = "`" + def + "`"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.name, codeSpan.ReplaceAllString(def, "`$1`"), codeSpan.ReplaceAllString(k.doc, "`$1`"))
	}
	return b.String()
}

func mustJSON(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return []byte(b.String())
}
