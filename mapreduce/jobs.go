package mapreduce

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// The built-in jobs. Every job sees chat messages only: join and leave
// notices are not counted. Times are in UTC.
func init() {
	Register(&Job{
		Name:    "messages-per-user",
		Summary: "messages sent by each user, most first",
		Map: func(*Params, string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) { emit(m.User, Value{N: 1}) }
		},
		Combine: sumValues, Reduce: sumReduce, Output: countRow, Less: byCountDesc,
	})
	Register(&Job{
		Name:    "messages-per-room",
		Summary: "messages in each room, most first",
		Map: func(*Params, string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) { emit(m.Room, Value{N: 1}) }
		},
		Combine: sumValues, Reduce: sumReduce, Output: countRow, Less: byCountDesc,
	})
	Register(&Job{
		Name:    "activity",
		Summary: "messages per hour of the week (UTC), per room or with --by user per user",
		Map: func(p *Params, _ string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) {
				who := m.Room
				if p.By == "user" {
					who = m.User
				}
				emit(ActivityKey(who, m.TS), Value{N: 1})
			}
		},
		Combine: sumValues, Reduce: sumReduce, Output: countRow, Less: byActivityKey,
	})
	Register(&Job{
		Name:         "top-words",
		Summary:      "the most used words, stop words left out (--limit, default 20)",
		DefaultLimit: 20,
		Map: func(*Params, string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) {
				for _, w := range Words(m.Text) {
					emit(w, Value{N: 1})
				}
			}
		},
		Combine: sumValues, Reduce: sumReduce, Output: countRow, Less: byCountDesc,
	})
	Register(&Job{
		Name:    "active-users",
		Summary: "users who sent a message, per day and per ISO week (UTC)",
		Map: func(*Params, string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) {
				t := m.TS.UTC()
				emit(DayKey(t), Value{Set: []string{m.User}})
				emit(WeekKey(t), Value{Set: []string{m.User}})
			}
		},
		Combine: unionValues,
		Reduce: func(_ string, vals []Value) Value {
			acc := Value{}
			for _, v := range vals {
				acc = unionValues(acc, v)
			}
			return acc
		},
		Output: func(_ *Params, r Record) (transport.AnalyticsRow, error) {
			return jsonRow(r.Key, len(r.Value.Set))
		},
	})
	Register(&Job{
		Name:       "response-time",
		Summary:    "median and p90 time until someone else answers, per room and overall (*)",
		WholeRooms: true,
		Map: func(*Params, string) Mapper {
			// The wait starts at the first message of a run by one user and
			// ends at the next message by anyone else.
			var (
				user  string
				start int64
			)
			return func(m *parley.Message, emit func(string, Value)) {
				switch {
				case user == "":
					user, start = m.User, m.TS.UnixNano()
				case m.User != user:
					d := Value{Nums: []int64{m.TS.UnixNano() - start}}
					emit(m.Room, d)
					emit(AllRooms, d)
					user, start = m.User, m.TS.UnixNano()
				}
			}
		},
		Combine: concatValues,
		Reduce: func(_ string, vals []Value) Value {
			acc := Value{}
			for _, v := range vals {
				acc = concatValues(acc, v)
			}
			slices.Sort(acc.Nums)
			return acc
		},
		Output: func(_ *Params, r Record) (transport.AnalyticsRow, error) {
			return jsonRow(r.Key, ResponseStats(r.Value.Nums))
		},
	})
	Register(&Job{
		Name:         "search",
		Summary:      "messages whose text matches --query (a Go regexp), newest first (--limit, default 100)",
		NeedsQuery:   true,
		DefaultLimit: 100,
		Map: func(p *Params, _ string) Mapper {
			return func(m *parley.Message, emit func(string, Value)) {
				if p.re.MatchString(m.Text) {
					wm := parley.Message{Room: m.Room, Seq: m.Seq, ID: m.ID, User: m.User, TS: m.TS, Text: m.Text, Kind: m.Kind}
					emit(fmt.Sprintf("%s#%d", m.Room, m.Seq), Value{Msg: &wm})
				}
			}
		},
		Reduce: func(_ string, vals []Value) Value { return vals[0] },
		Output: func(_ *Params, r Record) (transport.AnalyticsRow, error) {
			return transport.AnalyticsRow{Key: r.Key, Msg: r.Value.Msg}, nil
		},
		Less: NewestFirst,
	})
}

// AllRooms is the key of the response-time row over every room.
const AllRooms = "*"

// ResponseTimes is the value of a response-time row: how many answers,
// and the median and 90th percentile of their wait in milliseconds
// (nearest rank).
type ResponseTimes struct {
	N        int     `json:"n"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
}

// ResponseStats computes ResponseTimes of sorted waits (nanoseconds).
func ResponseStats(sorted []int64) ResponseTimes {
	rank := func(q float64) float64 {
		i := int(q*float64(len(sorted))+0.999999999) - 1
		return float64(sorted[max(i, 0)]) / 1e6
	}
	if len(sorted) == 0 {
		return ResponseTimes{}
	}
	return ResponseTimes{N: len(sorted), MedianMS: rank(0.5), P90MS: rank(0.9)}
}

// ActivityKey is the activity job's key: who, the weekday and the hour, in
// UTC ("general Mon 09").
func ActivityKey(who string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s %s %02d", who, t.Weekday().String()[:3], t.Hour())
}

// weekdays orders ActivityKey's weekday names from Monday.
var weekdays = map[string]int{"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}

func byActivityKey(a, b Record) bool {
	split := func(k string) (string, int, string) {
		i := strings.LastIndexByte(k, ' ')
		j := strings.LastIndexByte(k[:max(i, 0)], ' ')
		if i < 0 || j < 0 {
			return k, 0, ""
		}
		return k[:j], weekdays[k[j+1:i]], k[i+1:]
	}
	wa, da, ha := split(a.Key)
	wb, db, hb := split(b.Key)
	if wa != wb {
		return wa < wb
	}
	if da != db {
		return da < db
	}
	return ha < hb
}

// DayKey and WeekKey are the active-users job's keys: "day 2026-11-30",
// "week 2026-W49".
func DayKey(t time.Time) string { return "day " + t.UTC().Format(time.DateOnly) }

// WeekKey is the ISO week of t in UTC (see DayKey).
func WeekKey(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("week %04d-W%02d", y, w)
}

// stopWords are left out of top-words.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because
		been before being below between both but by can could did do does doing down during each few for from
		further had has have having he her here hers herself him himself his how i if in into is it its itself
		just me more most my myself no nor not now of off on once only or other our ours ourselves out over own
		same she should so some such than that the their theirs them themselves then there these they this those
		through to too under until up very was we were what when where which while who whom why will with would
		you your yours yourself yourselves im ive dont its thats`) {
		m[w] = true
	}
	return m
}()

// Words splits text into lower-case words for top-words: runs of letters,
// digits and apostrophes, apostrophes then dropped; stop words and
// one-letter words are left out.
func Words(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		w := strings.ReplaceAll(f, "'", "")
		if len([]rune(w)) < 2 || stopWords[w] {
			continue
		}
		out = append(out, w)
	}
	return out
}

func byCountDesc(a, b Record) bool {
	if a.Value.N != b.Value.N {
		return a.Value.N > b.Value.N
	}
	return a.Key < b.Key
}

// NewestFirst orders search rows: newest first, then by room and seq.
func NewestFirst(a, b Record) bool {
	ma, mb := a.Value.Msg, b.Value.Msg
	if ma == nil || mb == nil {
		return a.Key < b.Key
	}
	if !ma.TS.Equal(mb.TS) {
		return ma.TS.After(mb.TS)
	}
	if ma.Room != mb.Room {
		return ma.Room < mb.Room
	}
	return ma.Seq > mb.Seq
}

func countRow(_ *Params, r Record) (transport.AnalyticsRow, error) { return jsonRow(r.Key, r.Value.N) }

func jsonRow(key string, v any) (transport.AnalyticsRow, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return transport.AnalyticsRow{}, fmt.Errorf("row %s: %w", key, err)
	}
	return transport.AnalyticsRow{Key: key, Value: b}, nil
}
