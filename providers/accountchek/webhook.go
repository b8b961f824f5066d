package accountchek

import (
	"fmt"
	"mime"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"caseverify/providers"
)

// How an AccountChek postback is authenticated, and who does which part.
//
// AccountChek signs nothing and its notificationUrl "must not require
// authentication": no custom header, no Basic auth (spec.md §4.3, S03). So a
// postback proves nothing by itself. The portal therefore:
//
//  1. gives every order its own unguessable notificationUrl,
//     /webhooks/accountchek/{token}, keeps the token (OrderRef.Secret) and
//     compares the token in the path with the stored one in constant time
//     (it needs the store, so it is not done here);
//  2. calls Authenticate, which checks what can be checked without the store:
//     the content type and, when configured, the source address allowlist
//     (AccountChek publishes its IPs on request);
//  3. treats whatever Parse returns as a HINT only (Update.Refetch, no Status):
//     the status moves only after FetchStatus has asked AccountChek's API, and
//     a report is fetched only by the id that the API returned (W13).

// RawEventPostback is the Update.RawEvent of every update parsed from a postback.
const RawEventPostback = "postback"

// Service sub-item ids used in Update.SubID.
const (
	SubIDVOA  = "voa" // verification of assets (VOA) service
	SubIDVOIE = "voe" // verification of income and employment (VOIE) service
)

// Postback is one AccountChek webhook postback, validated. It is untrusted:
// anyone who learns an order's notification URL can send one.
type Postback struct {
	// OrderID is the AccountChek order GUID, lowercased.
	OrderID string
	// OrderStatus is the service status code as sent: only ASCII digits,
	// 3 or 4 of them (500 … 5061, 601 … 634).
	OrderStatus string
	// Known says OrderStatus is one of the documented codes (spec.md §4.4).
	Known bool
	// ReportID is the VOA report id sent with 507. Never use it to fetch a
	// report: FetchStatus returns the authoritative id.
	ReportID string
	// VOEReportID is the VOIE report id sent with 607. Same caveat.
	VOEReportID string
}

// ParsePostback validates an application/x-www-form-urlencoded postback body.
// It reads the body only: query strings and paths are never form sources,
// because a value there could override the body (Go's ParseForm precedence,
// reliability.md W12). Every error wraps providers.ErrMalformed and never
// quotes the body.
func ParsePostback(body []byte) (Postback, error) {
	var p Postback
	if len(body) == 0 {
		return p, malformed("empty body")
	}
	if !utf8.Valid(body) {
		return p, malformed("body is not valid UTF-8")
	}
	// url.ParseQuery already refuses ';' as a separator; checking first makes
	// the refusal explicit and independent of the Go version.
	if strings.IndexByte(string(body), ';') >= 0 {
		return p, malformed("';' is not a form separator")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		// The error text can quote the offending bytes, so it is not wrapped.
		return p, malformed("body is not a valid form")
	}
	// The keys the parser knows are matched case-insensitively (AccountChek's
	// receiver samples are ASP.NET, whose model binding ignores case), so
	// "OrderStatus" is the same key as "orderStatus" and giving both counts as
	// a repeat: a lenient downstream binder could otherwise pick either.
	known := [...]string{"orderId", "orderStatus", "reportId", "voeReportId", "VOD_ID"}
	values := make(map[string]string, len(known))
	for key, vs := range form {
		for _, v := range vs {
			if !utf8.ValidString(v) || !utf8.ValidString(key) {
				return p, malformed("a field is not valid UTF-8")
			}
		}
		for _, name := range known {
			if !strings.EqualFold(key, name) {
				continue
			}
			if _, seen := values[name]; seen || len(vs) != 1 {
				return p, malformed("field " + name + " is repeated")
			}
			values[name] = vs[0]
		}
	}

	p.OrderID = strings.ToLower(values["orderId"])
	switch {
	case p.OrderID == "":
		return Postback{}, malformed("orderId is missing")
	case !isGUID(p.OrderID):
		return Postback{}, malformed("orderId is not a GUID")
	}
	p.OrderStatus = values["orderStatus"]
	if p.OrderStatus == "" {
		return Postback{}, malformed("orderStatus is missing")
	}
	if !isStatusCode(p.OrderStatus) {
		return Postback{}, malformed("orderStatus is not a 3 or 4 digit number")
	}
	_, p.Known = lookupStatus(p.OrderStatus)
	for name, dst := range map[string]*string{"reportId": &p.ReportID, "voeReportId": &p.VOEReportID} {
		v := strings.ToLower(values[name])
		if v != "" && !isGUID(v) {
			return Postback{}, malformed(name + " is not a GUID")
		}
		*dst = v
	}
	return p, nil
}

// Authenticate checks the part of a postback's authenticity that needs no
// store: the content type AccountChek documents and, when AllowedSourceCIDRs
// is set, the source address. The per-order URL token is compared by the
// portal (see the comment at the top of this file). Failures wrap
// providers.ErrUnauthenticated.
func (c *Client) Authenticate(d providers.Delivery) error {
	mediaType, _, err := mime.ParseMediaType(d.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return fmt.Errorf("%w: accountchek postbacks are application/x-www-form-urlencoded", providers.ErrUnauthenticated)
	}
	if len(c.allowedSources) == 0 {
		return nil
	}
	addr, ok := remoteIP(d.RemoteAddr)
	if ok {
		for _, prefix := range c.allowedSources {
			if prefix.Contains(addr) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: accountchek postback source address is not in AllowedSourceCIDRs", providers.ErrUnauthenticated)
}

// Parse turns a postback into one hint update. Status stays empty and
// Refetch is set: the portal must confirm with FetchStatus before anything
// changes. The report ids in the body are deliberately dropped (never
// trusted; FetchStatus returns the real one). The form is read from
// d.Body only, never from d.Path.
func (c *Client) Parse(d providers.Delivery) ([]providers.Update, error) {
	p, err := ParsePostback(d.Body)
	if err != nil {
		return nil, err
	}
	return []providers.Update{{
		OrderID:   p.OrderID,
		SubID:     serviceOf(p.OrderStatus),
		RawEvent:  RawEventPostback,
		RawStatus: p.OrderStatus,
		Refetch:   true,
		Unknown:   !p.Known,
	}}, nil
}

// DedupeKey returns "": postbacks carry no delivery id, and two identical
// postbacks are legitimately possible (a status reached twice). Every hint is
// kept and the portal coalesces the re-checks they trigger.
func (c *Client) DedupeKey(providers.Delivery) string { return "" }

// statusInfo is how one AccountChek service status code maps onto the
// portal's lifecycle (spec.md §7.4).
type statusInfo struct {
	service string // SubIDVOA or SubIDVOIE
	status  providers.Status
	detail  string // PII-free sentence for the caseworker, if any
	report  bool   // a report was generated (507, 607)
}

// lookupStatus returns how a documented service status code maps (spec.md
// §4.4, §7.4). Codes it does not know keep the previous status (Status "")
// and are logged by number. A switch rather than a map keeps the table free
// of package-level mutable state.
func lookupStatus(code string) (statusInfo, bool) {
	const (
		inProgress = providers.StatusInProgress
		action     = providers.StatusActionRequired
		completed  = providers.StatusCompleted
	)
	switch code {
	case "500":
		return statusInfo{service: SubIDVOA, status: providers.StatusSent}, true
	case "501", "503", "505", "506", "5061", "510":
		return statusInfo{service: SubIDVOA, status: inProgress}, true
	case "5010":
		return statusInfo{service: SubIDVOA, status: action, detail: "The applicant's link expired; send a new link"}, true
	case "507":
		return statusInfo{service: SubIDVOA, status: completed, report: true}, true
	case "509":
		return statusInfo{service: SubIDVOA, status: action, detail: "The applicant must sign in to their bank again"}, true
	case "601", "610":
		return statusInfo{service: SubIDVOIE, status: inProgress}, true
	case "607":
		return statusInfo{service: SubIDVOIE, status: completed, report: true}, true
	case "609":
		return statusInfo{service: SubIDVOIE, status: action, detail: "The applicant must sign in to their payroll provider again"}, true
	case "634":
		return statusInfo{service: SubIDVOIE, status: action, detail: "The applicant's payroll sign-in failed; they can try again"}, true
	}
	return statusInfo{}, false
}

// mapServiceStatus maps a service status code. Unknown codes return an
// empty Status so the portal keeps the previous one and logs the number.
func mapServiceStatus(code string) (providers.Status, string) {
	info, _ := lookupStatus(code)
	return info.status, info.detail
}

// mapOrderStatus maps the order-level status (spec.md §7.4). A closed order
// is completed when a report was produced and otherwise expired, because
// AccountChek closes orders on its own when daysRemaining reaches 0.
func mapOrderStatus(status string, reportProduced bool) providers.Status {
	switch strings.ToLower(status) {
	case "building":
		return providers.StatusCreated
	case "opened":
		return providers.StatusSent
	case "inprogress":
		return providers.StatusInProgress
	case "canceled", "cancelled":
		return providers.StatusCanceled
	case "closed":
		if reportProduced {
			return providers.StatusCompleted
		}
		return providers.StatusExpired
	}
	return ""
}

// serviceOf guesses the service a code belongs to from its first digit
// (5xx VOA, 6xx VOIE), so the timeline can show unknown codes per service.
func serviceOf(code string) string {
	if info, ok := lookupStatus(code); ok {
		return info.service
	}
	switch {
	case strings.HasPrefix(code, "5"):
		return SubIDVOA
	case strings.HasPrefix(code, "6"):
		return SubIDVOIE
	}
	return ""
}

// isStatusCode reports whether s is 3 or 4 ASCII digits.
func isStatusCode(s string) bool {
	if len(s) != 3 && len(s) != 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form AccountChek
// uses for order and report ids.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// remoteIP extracts the IP of an "ip:port" or bare "ip" address.
func remoteIP(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(remote, "[]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// malformed wraps providers.ErrMalformed with a reason that never quotes
// the body.
func malformed(reason string) error {
	return fmt.Errorf("%w: accountchek postback: %s", providers.ErrMalformed, reason)
}
