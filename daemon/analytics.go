package daemon

import (
	"github.com/parleychat/parley/transport"
)

// nodeOps are the operations only another node of the cluster may call:
// an anonymous session with a client certificate the cluster CA signed.
var nodeOps = map[string]bool{
	transport.OpMRTask:   true,
	transport.OpMRStatus: true,
	transport.OpMRFetch:  true,
	transport.OpMRDrop:   true,
}

// handleAnalytics serves the analytics operations (see package mapreduce):
// a user's jobs, and the tasks other nodes' coordinators give this node. ok
// is false for any other operation.
func (ss *session) handleAnalytics(req transport.Request) (body any, err error, ok bool) {
	en := ss.srv.analytics
	switch req.Op {
	case transport.OpAnalyticsJobs:
		return en.JobList(), nil, true
	case transport.OpAnalyticsStart:
		var r transport.AnalyticsRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		body, err = en.Start(ss.user, r)
		return body, err, true
	case transport.OpAnalyticsPoll:
		var r transport.AnalyticsPollRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		body, err = en.Poll(ss.user, r)
		return body, err, true
	case transport.OpAnalyticsCancel:
		var r transport.AnalyticsCancelRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		return nil, en.Cancel(ss.user, r), true
	case transport.OpMRTask:
		var r transport.TaskRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		return nil, en.Task(r), true
	case transport.OpMRStatus:
		var r transport.TaskStatusRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		return en.Status(r), nil, true
	case transport.OpMRFetch:
		var r transport.FetchRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		body, err = en.Fetch(r)
		return body, err, true
	case transport.OpMRDrop:
		var r transport.DropRequest
		if err := decodeBody(req, &r); err != nil {
			return nil, err, true
		}
		en.Drop(r)
		return nil, nil, true
	}
	return nil, nil, false
}
