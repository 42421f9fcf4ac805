//! The address rule specs, assignments and the command line share: a
//! program under test serves or connects at a loopback address only, as
//! the runner only ever sends traffic to this machine.

use std::net::{SocketAddr, ToSocketAddrs};

/// Parses `HOST:PORT` and refuses anything but loopback, and port 0.
/// The error says why, for the caller to place (`--addr X: ...`,
/// `lab1.yaml:3:40: ...`).
pub fn loopback_addr(text: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("not a HOST:PORT address ({e})"))?
        .collect();
    let Some(addr) = addrs.iter().find(|a| a.ip().is_loopback()) else {
        return Err(String::from(
            "only loopback addresses (127.0.0.0/8, ::1) may be targets",
        ));
    };
    if addr.port() == 0 {
        return Err(String::from("the port must not be 0"));
    }
    Ok(*addr)
}

#[cfg(test)]
mod tests {
    use super::loopback_addr;

    #[test]
    fn only_loopback_with_a_port_is_taken() {
        assert!(loopback_addr("127.1.1.1:8900").is_ok());
        assert!(loopback_addr("[::1]:8900").is_ok());
        assert!(loopback_addr("8.8.8.8:53")
            .unwrap_err()
            .contains("only loopback"));
        assert!(loopback_addr("127.0.0.1:0")
            .unwrap_err()
            .contains("must not be 0"));
        assert!(loopback_addr("nonsense")
            .unwrap_err()
            .contains("not a HOST:PORT"));
    }
}
