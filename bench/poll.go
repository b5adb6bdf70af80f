package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pollInterval is the pause between two checks of a polled condition.
const pollInterval = 100 * time.Millisecond

// poll calls f every pollInterval until it returns nil, ctx ends or
// timeout passes; it then returns f's last error.
func poll(ctx context.Context, timeout time.Duration, what string, f func(ctx context.Context) error) error {
	return pollEvery(ctx, timeout, pollInterval, what, f)
}

// pollEvery is poll with a pause of every between the checks.
func pollEvery(ctx context.Context, timeout, every time.Duration, what string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if errors.Is(err, errPermanent) {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not after %v: %w", what, timeout, err)
		case <-t.C:
		}
	}
}
