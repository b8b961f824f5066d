// Package static holds the portal's CSS, JavaScript, fonts and images, served
// under /static/ from the binary. vendor/ is built from the pinned npm
// packages in package.json by `make vendor` and committed; css/ is ours.
package static

import "embed"

// FS is the embedded static tree.
//
//go:embed css js vendor
var FS embed.FS
