package discovery

import (
	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// cacheFlush is the top bit of an mDNS record's class: the record is the
// whole set of its name and type, and receivers drop the ones they held
// before (RFC 6762 10.2).
const cacheFlush = 1 << 15

// records returns every record the zone answers with for the service: the
// PTR to the instance, its SRV and TXT, and the host's A and AAAA; none for
// a nil zone.
func records(zone *mdns.MDNSService) []dns.RR {
	if zone == nil {
		return nil
	}
	return zone.Records(dns.Question{Name: Service + ".local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})
}

// announcing returns copies of recs to announce unsolicited: the records
// that belong to this node alone (all but the shared PTR) carry the
// cache-flush bit, so that a browser forgets the node's old addresses.
func announcing(recs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(recs))
	for i, rr := range recs {
		rr = dns.Copy(rr)
		if rr.Header().Rrtype != dns.TypePTR {
			rr.Header().Class |= cacheFlush
		}
		out[i] = rr
	}
	return out
}

// goodbyes returns the records of old that are not in now, with TTL 0: a
// browser that hears them drops them within a second (RFC 6762 10.1).
func goodbyes(old, now []dns.RR) []dns.RR {
	keep := make(map[string]bool, len(now))
	for _, rr := range now {
		keep[key(rr)] = true
	}
	var out []dns.RR
	for _, rr := range old {
		if keep[key(rr)] {
			continue
		}
		rr = dns.Copy(rr)
		rr.Header().Ttl = 0
		out = append(out, rr)
	}
	return out
}

// key identifies a record by everything but its TTL.
func key(rr dns.RR) string {
	rr = dns.Copy(rr)
	rr.Header().Ttl = 0
	return rr.String()
}

// response is an unsolicited mDNS response carrying recs (RFC 6762 18).
func response(recs []dns.RR) *dns.Msg {
	return &dns.Msg{
		MsgHdr:   dns.MsgHdr{Response: true, Authoritative: true, Opcode: dns.OpcodeQuery},
		Compress: true,
		Answer:   recs,
	}
}
