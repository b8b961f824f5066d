package truuth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// The Truuth wire format is UNCONFIRMED and its field names live in Contract,
// so bodies are handled as generic JSON objects addressed by dotted paths
// rather than as fixed Go structs.

// errNotObject says a body is valid JSON but not an object.
var errNotObject = errors.New("JSON body is not an object")

// decodeObject parses b as one JSON object. Numbers stay json.Number so that
// ids are never rounded through float64.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON body")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errNotObject
	}
	return m, nil
}

// getPath walks a dotted path ("results.proofingOutcomes") through nested
// objects.
func getPath(m map[string]any, dotted string) (any, bool) {
	if m == nil || dotted == "" {
		return nil, false
	}
	var cur any = m
	for part := range strings.SplitSeq(dotted, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// getString returns the string (or number, as text) at a dotted path, or "".
func getString(m map[string]any, dotted string) string {
	v, ok := getPath(m, dotted)
	if !ok {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

// getList returns the array at a dotted path, or nil.
func getList(m map[string]any, dotted string) []any {
	v, _ := getPath(m, dotted)
	l, _ := v.([]any)
	return l
}

// setPath stores v at a dotted path, creating the objects on the way.
func setPath(m map[string]any, dotted string, v any) {
	parts := strings.Split(dotted, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
}
