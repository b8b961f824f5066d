package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// readContract reads the optional provider contract file named by the
// setting name (TRUV_CONTRACT, TRUEWORK_CONTRACT, PAYSCORE_CONTRACT,
// ACCOUNTCHEK_CONTRACT, TRUUTH_CONTRACT): a JSON object whose keys are the
// provider's Contract field names, e.g. {"ListPath": "/api/v1/groups"}.
// Each provider keeps the paths and field names its vendor leaves
// UNCONFIRMED in one Contract struct, so an agency that learns the real value
// fixes it here without a release. Unknown keys are refused, so a typo
// cannot silently keep a default; the provider's New then validates the
// merged contract, and either failure stops the start naming the setting.
func readContract[T any](getenv func(string) string, name string) (T, error) {
	var c T
	file := strings.TrimSpace(getenv(name))
	if file == "" {
		return c, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("configuration: %s names a file that cannot be read", name)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("configuration: %s must be a JSON object of the provider's Contract fields: %v", name, err)
	}
	return c, nil
}

// contractError names the setting when a provider refuses its contract.
func contractError(name string, err error) error {
	return fmt.Errorf("configuration: %s: %w", name, err)
}
