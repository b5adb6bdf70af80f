package chatcore

// ApplyRulesVersion numbers the rules by which this build's state machines
// turn committed entries into state. Two nodes whose numbers differ could
// apply the same log to different states, so a node refuses to admit or to
// talk to a peer with another number. Raise it with every change to what an
// entry does when applied (a new command, a changed key layout, a changed
// validation in the apply path); a change that only touches the proposing
// side does not need it.
//
// 5: room shards apply fences (roomOpFence); and a message's dedup record
// is one record keyed by entry time (state db format 2), so a snapshot of
// a node with rules 4 would be misread.
//
// 6: an import batch carries an id, and the room keeps the id and outcome
// of its last import batch that changed it (key 'I'), so a copy of the
// batch reports the first copy's outcome; and a heartbeat's reports carry
// whether each shard is busy (ShardReport.Busy), which the registry stores.
//
// 7: a join's or leave's notice gets a dedup record under its id, and a
// join or leave whose id has one changes nothing and reports the first
// copy's outcome.
const ApplyRulesVersion = 7
