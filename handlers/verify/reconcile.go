package verify

import "context"

// Reconcile polls the open orders that have been quiet too long, through
// the same apply path as webhooks (design.md "Receive an update"). It is
// run periodically by web/.
//
// TODO(accountchek integration): implemented with the AccountChek issue.
func (s *Service) Reconcile(ctx context.Context) {}
