package ingesttest

import (
	"net"
	"sync"
)

// gate is a listener that can go down (new connections refused, as when a
// server dies) and come back on the same address, under one http server.
type gate struct {
	addr string

	mu     sync.Mutex
	ln     net.Listener  // nil while down
	up     chan struct{} // closed when the gate comes up or closes
	closed bool
}

func newGate() (*gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &gate{addr: ln.Addr().String(), ln: ln, up: make(chan struct{})}, nil
}

// Accept waits for a connection; while the gate is down it blocks, so the
// server keeps serving once the gate is up again.
func (g *gate) Accept() (net.Conn, error) {
	for {
		g.mu.Lock()
		ln, up, closed := g.ln, g.up, g.closed
		g.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if ln == nil {
			<-up
			continue
		}
		c, err := ln.Accept()
		if err == nil {
			return c, nil
		}
		g.mu.Lock()
		replaced := g.ln != ln || g.closed
		g.mu.Unlock()
		if !replaced {
			return nil, err
		}
	}
}

// down closes the listening socket: dials are refused until up.
func (g *gate) down() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		g.ln.Close()
		g.ln = nil
		g.up = make(chan struct{})
	}
}

// reopen listens on the same address again.
func (g *gate) reopen() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil || g.closed {
		return nil
	}
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		return err
	}
	g.ln = ln
	close(g.up)
	return nil
}

func (g *gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	if g.ln == nil {
		close(g.up)
		return nil
	}
	return g.ln.Close()
}

func (g *gate) Addr() net.Addr {
	a, _ := net.ResolveTCPAddr("tcp", g.addr)
	return a
}
