// Package reporting holds the read-only use cases behind the Admin Panel's dashboard: what an
// organisation took, gave back, has pending and disputed, over a period and the one before it,
// per site and currency, in daily buckets.
//
// Definitions (also on the dashboard page and in docs/DASHBOARD.md):
//
//   - Gross: the gross amounts of transactions that took the money (succeeded, including those
//     later refunded or disputed), counted on the day they succeeded.
//   - Refunds: succeeded refunds, counted on the day they succeeded (they may refund a payment
//     taken in an earlier period).
//   - Net: gross minus refunds, per currency and period.
//   - Completed: how many transactions succeeded in the period; Failed: how many ended failed
//     in it (by the time they failed); Failure ratio: failed / (completed + failed).
//   - Pending: transactions awaiting the provider's answer now (status pending_provider).
//   - Disputed: transactions with an open dispute now (disputed, not lost or accepted).
//
// Days are UTC calendar days: organisations and sites have no time zone setting yet. Amounts
// are never added across currencies.
package reporting
