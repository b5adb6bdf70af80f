package client

import "log/slog"

// run watches the live connection and replaces it when it dies, until the
// Client is closed.
func (c *Client) run(cn *conn) {
	defer c.wg.Done()
	defer c.notify.emit(Closed)
	for {
		select {
		case <-cn.done:
		case <-c.ctx.Done():
			cn.fail(ErrClosed)
			return
		}
		c.detach(cn)  // OnClose did, unless cn died before install
		cn.tc.Close() // wait for its goroutines
		c.log.Warn("connection lost; reconnecting", "addr", cn.addr, "node", cn.node.ID, "err", cn.tc.Err())
		c.notify.emit(Reconnecting)
		cn = c.reconnect()
		if cn == nil {
			return
		}
		c.install(cn)
		c.notify.emit(Reconnected)
	}
}

// reconnect tries the known nodes round robin, starting after the one just
// lost, with exponential backoff and jitter between attempts, until one
// completes the handshake. It returns nil when the Client is closed.
func (c *Client) reconnect() *conn {
	bo := newBackoff()
	for {
		if c.sleep(c.ctx, bo.next()) != nil {
			return nil
		}
		addr := c.nextServer()
		cn, err := c.handshake(c.ctx, addr)
		if err == nil {
			if c.ctx.Err() != nil {
				cn.fail(ErrClosed)
				return nil
			}
			return cn
		}
		if c.ctx.Err() != nil {
			return nil
		}
		level := slog.LevelWarn
		if refused(err) {
			// Not fixed by waiting: a wrong CA, a lost account. Other
			// nodes may still take us, so carry on, but say it loudly.
			level = slog.LevelError
		}
		c.log.Log(c.ctx, level, "reconnect failed", "addr", addr, "err", err)
	}
}
