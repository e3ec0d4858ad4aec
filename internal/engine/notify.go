package engine

import (
	"context"
	"strings"
	"time"
)

// publishTimeout bounds one publication; a notification that cannot be sent
// in that time is left to the fallbacks (polling, lease renewal).
const publishTimeout = 2 * time.Second

// Notifier carries short messages between the processes that share a store
// (package postgres implements it with LISTEN/NOTIFY). It only speeds things
// up and is never needed for correctness: a worker also polls the queue every
// PollInterval, and a runner learns of a cancel at its next lease renewal.
type Notifier interface {
	// Publish sends payload to every process sharing the store, this one
	// included.
	Publish(ctx context.Context, payload string) error
	// Listen sends the payloads every process publishes to out until ctx
	// ends, reconnecting as needed. After each reconnection it sends "": what
	// was published meanwhile may be lost.
	Listen(ctx context.Context, out chan<- string)
}

// Payloads the engine publishes.
const (
	// payloadQueued says a deployment was queued: an idle worker should claim.
	payloadQueued = "queued"
	// payloadCancel, followed by a deployment id, says it is now CANCELLING.
	payloadCancel = "cancel:"
)

// receive acts on the notifications of other nodes (and this node's own,
// which are harmless: a spare wake-up, or a cancel of no local run).
func (e *Engine) receive(ctx context.Context, notes <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-notes:
			switch {
			case n == payloadQueued:
				e.wakeLocal()
			case strings.HasPrefix(n, payloadCancel):
				e.cancelRun(strings.TrimPrefix(n, payloadCancel), ErrUserCancelled)
				// It may be a waiting deployment, which a worker claims.
				e.wakeLocal()
			case n == "":
				// Notifications may have been lost: claim, and renew leases
				// (which reads the status of every local run) at once.
				e.wakeLocal()
				select {
				case e.checkLeases <- struct{}{}:
				default:
				}
			}
		}
	}
}

// publishQueued tells the other nodes of queued deployments; requests that
// pile up while one is being sent are sent as one.
func (e *Engine) publishQueued(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.publish:
		}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		if err := e.cfg.Notifier.Publish(pctx, payloadQueued); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("publish queued deployment: other nodes find it when they next poll", "err", err)
		}
		cancel()
	}
}

// recoverExpired finishes, every RecoverInterval, the deployments whose lease
// expired: their worker died (a node was killed) or lost the store for longer
// than a lease. Any node does it for all; the conditional write in
// DeploymentFinish makes sure only one of them ends each deployment.
func (e *Engine) recoverExpired(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.RecoverInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := e.Recover(ctx, ""); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("recover expired leases", "err", err)
		}
	}
}
