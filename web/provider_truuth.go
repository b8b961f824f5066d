package main

// setupTruuth wires the truuth provider (issue 7). Until it is wired, the
// provider is not offered.
func setupTruuth(env providerEnv, ps *providerSet) error { return nil }
