package main

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

// peerConfig is the JSON that lib/webrtc/config.ts sends to swrtc_pc_new: the
// W3C RTCConfiguration subset Snowflake uses plus pion's SettingEngine knobs.
type peerConfig struct {
	ICEServers []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`
	// IncludeLoopbackCandidates gathers 127.0.0.1/::1 host candidates, which
	// pion skips by default (needed when both peers share one host).
	IncludeLoopbackCandidates bool `json:"includeLoopbackCandidates"`
	// StripLocalAddresses removes private, loopback and unspecified host
	// candidates from localDescription (Snowflake's default; see localaddr.go).
	StripLocalAddresses bool `json:"stripLocalAddresses"`
	// PortMin/PortMax bound the UDP ports ICE binds; 0/0 = any ephemeral port.
	PortMin uint16 `json:"portMin"`
	PortMax uint16 `json:"portMax"`
	// MDNS is "disabled" (Snowflake's choice), "query-only" or "query-and-gather".
	MDNS string `json:"mdns"`
	// GatheringTimeoutMs declares gathering complete after this long even if
	// pion is still gathering (0 = wait for pion).
	GatheringTimeoutMs int `json:"iceGatheringTimeoutMs"`
	// OutboundAddress (the proxy's -outbound-address): an IP of this host
	// limits host candidates to it (pion's IP filter), so ICE sends from it;
	// any other IP replaces the host candidates' address (1:1 NAT), as
	// upstream does. Server-reflexive candidates stay either way. It is never
	// stripped as a local address. "" = every interface.
	OutboundAddress string `json:"outboundAddress"`
	outboundIP      net.IP
}

func parsePeerConfig(raw []byte) (*peerConfig, error) {
	var cfg peerConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("bad peer connection configuration: %w", err)
	}
	if cfg.GatheringTimeoutMs < 0 {
		return nil, fmt.Errorf("bad peer connection configuration: iceGatheringTimeoutMs %d < 0", cfg.GatheringTimeoutMs)
	}
	if cfg.OutboundAddress != "" {
		if cfg.outboundIP = net.ParseIP(cfg.OutboundAddress); cfg.outboundIP == nil {
			return nil, fmt.Errorf("bad peer connection configuration: outboundAddress %q is not an IP address", cfg.OutboundAddress)
		}
	}
	return &cfg, nil
}

func (cfg *peerConfig) gatheringTimeout() time.Duration {
	return time.Duration(cfg.GatheringTimeoutMs) * time.Millisecond
}

// api builds the pion API (SettingEngine) for one peer connection; log is the
// logger factory that turns pion's log lines into events.
func (cfg *peerConfig) api(log *eventLoggerFactory) (*webrtc.API, error) {
	var s webrtc.SettingEngine
	s.LoggerFactory = log
	s.SetIncludeLoopbackCandidate(cfg.IncludeLoopbackCandidates)
	switch cfg.MDNS {
	case "", "disabled":
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	case "query-only":
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	case "query-and-gather":
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	default:
		return nil, fmt.Errorf("bad peer connection configuration: mdns %q is not disabled, query-only or query-and-gather", cfg.MDNS)
	}
	if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if cfg.PortMin == 0 || cfg.PortMax == 0 || cfg.PortMin > cfg.PortMax {
			return nil, fmt.Errorf("bad peer connection configuration: port range %d:%d needs 0 < min <= max", cfg.PortMin, cfg.PortMax)
		}
		if err := s.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, err
		}
	}
	if ip := cfg.outboundIP; ip != nil {
		if isInterfaceAddress(ip) {
			s.SetIPFilter(func(candidate net.IP) bool { return candidate.Equal(ip) })
		} else {
			s.SetNAT1To1IPs([]string{ip.String()}, webrtc.ICECandidateTypeHost)
		}
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(s)), nil
}

func (cfg *peerConfig) configuration() webrtc.Configuration {
	var c webrtc.Configuration
	for _, server := range cfg.ICEServers {
		entry := webrtc.ICEServer{URLs: server.URLs, Username: server.Username}
		if server.Credential != "" {
			entry.Credential = server.Credential
		}
		c.ICEServers = append(c.ICEServers, entry)
	}
	return c
}

// isInterfaceAddress tells whether ip is assigned to one of this host's interfaces.
func isInterfaceAddress(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, addr := range addrs {
		if prefix, ok := addr.(*net.IPNet); ok && prefix.IP.Equal(ip) {
			return true
		}
	}
	return false
}
