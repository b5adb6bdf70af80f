package daemon

import (
	"context"

	"github.com/parleychat/parley/transport"
)

// nodeOps are the operations only another node of the cluster may call:
// an anonymous session with a client certificate the cluster CA signed.
var nodeOps = map[string]bool{
	transport.OpMRTask:   true,
	transport.OpMRStatus: true,
	transport.OpMRFetch:  true,
	transport.OpMRDrop:   true,
	transport.OpMRPoll:   true,
	transport.OpMRCancel: true,
	transport.OpMRCut:    true,
	// Not analytics: a node asking what the registry says of it.
	transport.OpRegistryMember: true,
}

// handleAnalytics serves the analytics operations (see package mapreduce):
// a user's jobs, and the tasks other nodes' coordinators give this node. ok
// is false for any other operation.
func (ss *session) handleAnalytics(ctx context.Context, req transport.Request) (body any, ok bool, err error) {
	en := ss.srv.analytics
	switch req.Op {
	case transport.OpAnalyticsJobs:
		return en.JobList(), true, nil
	case transport.OpAnalyticsStart:
		var r transport.AnalyticsRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		body, err = en.Start(ctx, ss.user, r)
		return body, true, err
	case transport.OpAnalyticsPoll:
		var r transport.AnalyticsPollRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		body, err = en.Poll(ctx, ss.user, r)
		return body, true, err
	case transport.OpAnalyticsCancel:
		var r transport.AnalyticsCancelRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		return nil, true, en.Cancel(ctx, ss.user, r)
	case transport.OpMRTask:
		var r transport.TaskRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		return nil, true, en.Task(r)
	case transport.OpMRStatus:
		var r transport.TaskStatusRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		return en.Status(r), true, nil
	case transport.OpMRFetch:
		var r transport.FetchRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		body, err = en.Fetch(r)
		return body, true, err
	case transport.OpMRPoll, transport.OpMRCancel:
		var r transport.ForwardRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		body, err = en.Forwarded(req.Op, r)
		return body, true, err
	case transport.OpMRCut:
		var r transport.CutRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		body, err = en.Cut(ctx, r)
		return body, true, err
	case transport.OpMRDrop:
		var r transport.DropRequest
		if err := ss.decodeBody(req, &r); err != nil {
			return nil, true, err
		}
		en.Drop(r)
		return nil, true, nil
	}
	return nil, false, nil
}
