//! The recorder's relays: every connection (TCP) or datagram (UDP) that
//! reaches the front socket is carried to the other side and back, and
//! everything that passes is logged with its time, before it is passed
//! on, so that a cause is always logged before its effect.

use super::log::{Log, NetWhat, Side};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a relay blocks before it looks whether the recording is over.
const TICK: Duration = Duration::from_millis(50);

/// What every relay thread shares.
#[derive(Clone)]
pub struct Shared {
    pub log: Log,
    /// Set when the recording is over: every thread ends within a tick.
    pub done: Arc<AtomicBool>,
    /// Directions of TCP connections still carrying data.
    pub live: Arc<AtomicUsize>,
    /// Connections (or UDP peers) numbered in the order they came.
    next: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Shared {
    pub fn new(log: Log) -> Shared {
        Shared {
            log,
            done: Arc::default(),
            live: Arc::default(),
            next: Arc::default(),
            threads: Arc::default(),
        }
    }

    fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        let handle = std::thread::spawn(work);
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// Ends every relay and waits for their threads.
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        loop {
            let handles: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
            if handles.is_empty() {
                return;
            }
            for handle in handles {
                let _ = handle.join();
            }
        }
    }
}

/// Accepts connections on `listener` (whose side is `accepted`), opens
/// the matching connection on the other side with `connect`, and relays.
pub fn tcp(
    shared: &Shared,
    listener: TcpListener,
    accepted: Side,
    connect: impl Fn() -> std::io::Result<TcpStream> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let relay = shared.clone();
    shared.spawn(move || {
        while !relay.done() {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("record: accepting a connection failed: {e}");
                    std::thread::sleep(TICK);
                    continue;
                }
            };
            let _ = stream.set_nonblocking(false);
            let other = match connect() {
                Ok(other) => other,
                Err(e) => {
                    eprintln!(
                        "record: a connection came, but the other side refused it ({e}); it is not recorded"
                    );
                    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                    continue;
                }
            };
            let conn = relay.next.fetch_add(1, Ordering::SeqCst);
            relay.log.net(conn, Side::Runner, NetWhat::Open);
            let (runner, program) = match accepted {
                Side::Runner => (stream, other),
                Side::Program => (other, stream),
            };
            let dead = Arc::new(AtomicBool::new(false));
            for (from, to, side) in [
                (&runner, &program, Side::Runner),
                (&program, &runner, Side::Program),
            ] {
                let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                    continue;
                };
                let (shared, dead) = (relay.clone(), Arc::clone(&dead));
                relay.live.fetch_add(1, Ordering::SeqCst);
                relay.spawn(move || {
                    copy(&shared, conn, side, from, to, &dead);
                    shared.live.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    });
    Ok(())
}

/// Carries one direction of a connection until its end, logging it.
fn copy(
    shared: &Shared,
    conn: usize,
    side: Side,
    mut from: TcpStream,
    mut to: TcpStream,
    dead: &AtomicBool,
) {
    let _ = from.set_read_timeout(Some(TICK));
    let _ = to.set_write_timeout(Some(Duration::from_secs(5)));
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buffer) {
            Ok(0) => {
                shared.log.net(conn, side, NetWhat::Fin);
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                shared
                    .log
                    .net(conn, side, NetWhat::Data(buffer[..n].to_vec()));
                if to.write_all(&buffer[..n]).is_err() {
                    // The other side is gone: its own reader logs how.
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if shared.done() || dead.load(Ordering::SeqCst) {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                // A reset (or another failure, which ends the connection
                // the same way): passed on as a reset once every copy of
                // the other socket is closed.
                shared.log.net(conn, side, NetWhat::Reset);
                let _ = socket2::SockRef::from(&to).set_linger(Some(Duration::ZERO));
                dead.store(true, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Receives datagrams on `front` (whose side is `front_side`); each
/// peer gets a socket of its own on the other side, made by `open`
/// (connected to where the datagrams go), and its replies are sent back
/// to the peer from `front`.
pub fn udp(
    shared: &Shared,
    front: UdpSocket,
    front_side: Side,
    open: impl Fn() -> std::io::Result<UdpSocket> + Send + 'static,
) -> std::io::Result<()> {
    front.set_read_timeout(Some(TICK))?;
    let front = Arc::new(front);
    let back_side = match front_side {
        Side::Runner => Side::Program,
        Side::Program => Side::Runner,
    };
    let relay = shared.clone();
    shared.spawn(move || {
        let mut peers: HashMap<SocketAddr, (usize, Arc<UdpSocket>)> = HashMap::new();
        let mut buffer = vec![0u8; 65536];
        while !relay.done() {
            let (n, peer) = match front.recv_from(&mut buffer) {
                Ok(received) => received,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(_) => continue,
            };
            let (conn, back) = match peers.get(&peer) {
                Some(known) => known.clone(),
                None => {
                    let back = match open() {
                        Ok(back) => Arc::new(back),
                        Err(e) => {
                            eprintln!("record: cannot relay a datagram from {peer}: {e}");
                            continue;
                        }
                    };
                    let _ = back.set_read_timeout(Some(TICK));
                    let conn = relay.next.fetch_add(1, Ordering::SeqCst);
                    relay.log.net(conn, Side::Runner, NetWhat::Open);
                    let (shared, replies, front) =
                        (relay.clone(), Arc::clone(&back), Arc::clone(&front));
                    relay.spawn(move || {
                        let mut buffer = vec![0u8; 65536];
                        while !shared.done() {
                            match replies.recv(&mut buffer) {
                                Ok(n) => {
                                    shared.log.net(
                                        conn,
                                        back_side,
                                        NetWhat::Data(buffer[..n].to_vec()),
                                    );
                                    let _ = front.send_to(&buffer[..n], peer);
                                }
                                Err(_) => continue,
                            }
                        }
                    });
                    peers.insert(peer, (conn, Arc::clone(&back)));
                    (conn, back)
                }
            };
            relay
                .log
                .net(conn, front_side, NetWhat::Data(buffer[..n].to_vec()));
            let _ = back.send(&buffer[..n]);
        }
    });
    Ok(())
}
