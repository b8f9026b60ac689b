package main

import (
	"fmt"

	"github.com/pion/logging"
)

// Log levels in eventPeerLog payloads, matching lib/util/log.ts's LogLevel order.
const (
	logWarn  = 2
	logError = 3
)

// eventLoggerFactory hands pion loggers that turn warnings and errors into
// eventPeerLog events, so they reach the TS Logger (which scrubs addresses)
// instead of pion's default: unscrubbed lines on stdout, which is tor's PT
// control channel. Trace, debug and info lines are dropped.
type eventLoggerFactory struct{ peer *peer }

func (f *eventLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return &eventLogger{peer: f.peer, scope: scope}
}

type eventLogger struct {
	peer  *peer
	scope string
}

func (l *eventLogger) log(level byte, message string) {
	l.peer.emit(eventPeerLog, l.peer.handle, []byte{level}, []byte("pion/"+l.scope+": "+message))
}

func (l *eventLogger) Trace(string)                  {}
func (l *eventLogger) Tracef(string, ...interface{}) {}
func (l *eventLogger) Debug(string)                  {}
func (l *eventLogger) Debugf(string, ...interface{}) {}
func (l *eventLogger) Info(string)                   {}
func (l *eventLogger) Infof(string, ...interface{})  {}
func (l *eventLogger) Warn(msg string)               { l.log(logWarn, msg) }
func (l *eventLogger) Warnf(format string, a ...interface{}) {
	l.log(logWarn, fmt.Sprintf(format, a...))
}
func (l *eventLogger) Error(msg string) { l.log(logError, msg) }
func (l *eventLogger) Errorf(format string, a ...interface{}) {
	l.log(logError, fmt.Sprintf(format, a...))
}
