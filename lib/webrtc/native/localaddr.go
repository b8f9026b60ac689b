package main

import (
	"net"

	"github.com/pion/ice/v2"
	"github.com/pion/sdp/v3"
)

// stripLocalAddresses removes, from every media section, each host candidate
// whose address is private, shared (CGNAT), link-local IPv4, unique-local
// IPv6, loopback or unspecified: Snowflake's munging before an offer or
// answer leaves the machine (SNOWFLAKE-PROTOCOL.md §7.5 step 4). srflx and
// relay candidates always stay, and so does a host candidate on keep (the
// configured outbound address; nil = none). SDP that does not parse is
// returned unchanged, as Go Snowflake does.
func stripLocalAddresses(text string, keep net.IP) string {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal([]byte(text)); err != nil {
		return text
	}
	for _, media := range desc.MediaDescriptions {
		kept := media.Attributes[:0]
		for _, attr := range media.Attributes {
			if !attr.IsICECandidate() || !isLocalHostCandidate(attr.Value, keep) {
				kept = append(kept, attr)
			}
		}
		media.Attributes = kept
	}
	out, err := desc.Marshal()
	if err != nil {
		return text
	}
	return string(out)
}

func isLocalHostCandidate(value string, keep net.IP) bool {
	candidate, err := ice.UnmarshalCandidate(value)
	if err != nil || candidate.Type() != ice.CandidateTypeHost {
		return false
	}
	ip := net.ParseIP(candidate.Address())
	return ip != nil && !ip.Equal(keep) && (isLocalIP(ip) || ip.IsUnspecified() || ip.IsLoopback())
}

// isLocalIP: 10/8, 172.16/12, 192.168/16 (RFC 1918), 100.64/10 (RFC 6598),
// 169.254/16 (RFC 3927), fc00::/7 (RFC 4193).
func isLocalIP(ip net.IP) bool {
	if v4 := ip.To4(); v4 != nil {
		return v4[0] == 10 ||
			(v4[0] == 172 && v4[1]&0xf0 == 16) ||
			(v4[0] == 192 && v4[1] == 168) ||
			(v4[0] == 100 && v4[1]&0xc0 == 64) ||
			(v4[0] == 169 && v4[1] == 254)
	}
	return len(ip) == net.IPv6len && ip[0]&0xfe == 0xfc
}
