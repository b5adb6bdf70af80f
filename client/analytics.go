package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/transport"
)

// analyticsPoll is how often Analytics asks for a job's progress.
const analyticsPoll = 200 * time.Millisecond

// AnalyticsParams are an analytics job's parameters. The zero value asks
// for every room the user may read (public rooms and the user's own
// direct-message rooms), over all time, with the job's default limit.
type AnalyticsParams struct {
	// Rooms limits the job to these rooms.
	Rooms []string
	// Since and Until bound the messages' time: Since <= ts < Until. Zero
	// means unbounded.
	Since, Until time.Time
	// Limit bounds the rows (at most 10000; 0 for the job's default).
	Limit int
	// Query is the search job's regular expression (Go syntax).
	Query string
	// By is "room" (default) or "user", for the activity job.
	By string
	// All asks for every room of the cluster, other people's direct
	// messages included. Only an administrator may ask; anyone else gets
	// code forbidden and nothing runs. All and Rooms exclude each other.
	All bool
	// Progress, if not nil, is called with the job's progress while it
	// runs, about five times a second.
	Progress func(transport.AnalyticsProgress)
}

// AnalyticsResult is a finished job: its rows in the job's order, and
// its final progress (tasks and messages scanned).
type AnalyticsResult struct {
	Job      string
	Rows     []transport.AnalyticsRow
	Progress transport.AnalyticsProgress
	// Resubmitted is set when the job's first coordinator died and the
	// job ran again on another node.
	Resubmitted bool
}

// Count decodes a row's value as a number (the counting jobs' rows).
func Count(r transport.AnalyticsRow) (int64, error) {
	var n int64
	if err := json.Unmarshal(r.Value, &n); err != nil {
		return 0, fmt.Errorf("row %s: %w", r.Key, err)
	}
	return n, nil
}

// AnalyticsJobs lists the jobs the cluster can run.
func (c *Client) AnalyticsJobs(ctx context.Context) ([]transport.AnalyticsJob, error) {
	var resp transport.AnalyticsJobsResponse
	if err := c.do(ctx, transport.OpAnalyticsJobs, transport.AnalyticsJobsRequest{}, &resp); err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	return resp.Jobs, nil
}

// Analytics runs the analytics job named job over the chat history, on the
// cluster, and returns its rows. The node the Client is connected to
// coordinates the job; messages sent while it runs do not change its
// answer. If that node dies, the job is submitted once more to the node
// the Client reconnects to. Cancelling ctx cancels the job. Bad parameters
// (an unknown job, an empty time range, a limit over 10000, a query that
// does not compile) get a *transport.Error with code invalid; a room the
// user may not read gets code forbidden.
func (c *Client) Analytics(ctx context.Context, job string, p AnalyticsParams) (*AnalyticsResult, error) {
	req := transport.AnalyticsRequest{Job: job, Params: transport.AnalyticsParams{
		Rooms: p.Rooms, Limit: p.Limit, Query: p.Query, By: p.By, All: p.All,
	}}
	if !p.Since.IsZero() {
		req.Params.Since = p.Since.UnixNano()
	}
	if !p.Until.IsZero() {
		req.Params.Until = p.Until.UnixNano()
	}
	res, err := c.runJob(ctx, req, p.Progress)
	if transport.CodeOf(err) == transport.CodeNotFound && errors.Is(err, errCoordinatorLost) {
		c.log.Info("analytics: the job's coordinator is gone, submitting it again", "job", job)
		res, err = c.runJob(ctx, req, p.Progress)
		if res != nil {
			res.Resubmitted = true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("analytics %s: %w", job, err)
	}
	return res, nil
}

// AnalyticsStatus reports the job named jobID (see
// transport.AnalyticsProgress.JobID) without waiting: its progress, and
// whether it is done or was cancelled. A job of another user, or one whose
// coordinator died or forgot it, gets code not_found.
func (c *Client) AnalyticsStatus(ctx context.Context, jobID string) (transport.AnalyticsPollResponse, error) {
	var resp transport.AnalyticsPollResponse
	// From far past the rows: the status, not the result.
	err := c.do(ctx, transport.OpAnalyticsPoll, transport.AnalyticsPollRequest{JobID: jobID, From: 1 << 30}, &resp)
	if err != nil {
		return resp, fmt.Errorf("analytics job %s: %w", jobID, err)
	}
	return resp, nil
}

// errCoordinatorLost marks a job whose coordinator no longer knows it.
var errCoordinatorLost = errors.New("the job's coordinator is gone")

// runJob starts a job and polls it to its end.
func (c *Client) runJob(ctx context.Context, req transport.AnalyticsRequest, progress func(transport.AnalyticsProgress)) (*AnalyticsResult, error) {
	var started transport.AnalyticsStarted
	if err := c.do(ctx, transport.OpAnalyticsStart, req, &started); err != nil {
		return nil, err
	}
	cancelled := true
	defer func() {
		if cancelled {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c.do(cctx, transport.OpAnalyticsCancel, transport.AnalyticsCancelRequest(started), nil)
		}
	}()
	res := &AnalyticsResult{Job: req.Job}
	t := time.NewTicker(analyticsPoll)
	defer t.Stop()
	for {
		var resp transport.AnalyticsPollResponse
		err := c.do(ctx, transport.OpAnalyticsPoll, transport.AnalyticsPollRequest{JobID: started.JobID, From: len(res.Rows)}, &resp)
		if transport.CodeOf(err) == transport.CodeNotFound {
			cancelled = false
			return nil, fmt.Errorf("%w: %w", errCoordinatorLost, err)
		}
		if err != nil {
			return nil, err
		}
		if resp.Cancelled {
			cancelled = false
			return nil, resp.Error
		}
		res.Progress = resp.Progress
		if progress != nil {
			progress(resp.Progress)
		}
		if resp.Done {
			cancelled = false
			if resp.Error != nil {
				return nil, resp.Error
			}
			res.Rows = append(res.Rows, resp.Rows...)
			if len(res.Rows) >= resp.Total {
				return res, nil
			}
			if len(resp.Rows) == 0 {
				return nil, fmt.Errorf("result: %d of %d rows", len(res.Rows), resp.Total)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
